// templates/push-key.sh run for real on this machine, as a simulated instance runs it (its home given
// by SSM_SSH_SANDBOX_HOME), or with a fake sshd/getent/id on PATH: the exact line written and its
// expiry in the host's own time zone, the fallback for sshd older than 7.7, what revoke and cleanup
// remove, and the refusals in a hostile home.
import { execFileSync, spawnSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parsePublicKey, parseScriptOutput, renderScript, type ScriptAction } from './push-key.ts'

const template = readFileSync(join(import.meta.dirname, '../../templates/push-key.sh'), 'utf8')
const key = parsePublicKey(
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbWd0ZyYXRzIHRvIHlvdSBmb3IgcmVhZGluZyB0aGlz c',
  'k',
)
const owner = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwnerOwnerOwnerOwnerOwnerOwnerOwnerOwnerOwn me@laptop'
const MARKER = 'ssm-ssh-temp-00aa11bb22cc'

function homeWith(text?: string): string {
  const home = mkdtempSync(join(tmpdir(), 'ssm-ssh-script-'))
  if (text !== undefined) {
    mkdirSync(join(home, '.ssh'), { mode: 0o700 })
    writeFileSync(join(home, '.ssh', 'authorized_keys'), text, { mode: 0o600 })
  }
  return home
}

/** The script as a simulated instance runs it (sh, TZ, the sandbox's variables). */
function runSimulated(
  home: string,
  action: ScriptAction,
  opts: { ttl?: number; tz?: string; path?: string } = {},
) {
  const script = renderScript(template, {
    action,
    user: 'pi',
    key,
    marker: MARKER,
    ttlSeconds: opts.ttl ?? 5,
  })
  const r = spawnSync('/bin/sh', ['-c', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: opts.path ?? '/usr/bin:/bin',
      TZ: opts.tz ?? 'UTC',
      SSM_SSH_SANDBOX_HOME: home,
      SSM_SSH_SANDBOX_USERS: 'pi',
      SSM_SSH_SANDBOX_SSH_ETC: join(home, 'no-etc'),
    },
  })
  return { status: r.status, stdout: r.stdout, report: parseScriptOutput(r.stdout) }
}

const keysOf = (home: string) => readFileSync(join(home, '.ssh', 'authorized_keys'), 'utf8')

/** A root-run script that believes it is an ordinary host with this sshd version. */
function runWithSshd(sshdVersion: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-script-'))
  const bin = join(dir, 'bin')
  const home = join(dir, 'home')
  mkdirSync(bin)
  mkdirSync(home)
  const fake = (name: string, text: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${text}`)
    chmodSync(join(bin, name), 0o755)
  }
  fake('sshd', `echo "unknown option -- V" >&2\necho "OpenSSH_${sshdVersion}, OpenSSL 1.1" >&2\nexit 1\n`)
  fake('getent', `echo "pi:x:4242:4242::${home}:/bin/sh"\n`)
  // the user itself (as when the agent runs as pi): the script then needs no setpriv
  fake('id', 'case "$1" in -un) echo pi ;; *) echo 4242 ;; esac\n')
  const script = renderScript(template, { action: 'add', user: 'pi', key, marker: MARKER, ttlSeconds: 5 })
  execFileSync('/bin/sh', ['-c', script], { env: { PATH: `${bin}:/usr/bin:/bin` } })
  return readFileSync(join(home, '.ssh', 'authorized_keys'), 'utf8')
}

describe('templates/push-key.sh', () => {
  it.each(['Etc/GMT-10', 'Etc/GMT+8', 'UTC'])(
    'writes expiry-time in the host’s local time (TZ=%s) and the expiry epoch in the comment',
    (tz) => {
      const home = homeWith(`${owner}\n`)
      const before = Math.floor(Date.now() / 1000)
      const r = runSimulated(home, 'add', { ttl: 120, tz })
      expect(r.status).toBe(0)
      const line = keysOf(home).split('\n')[1] as string
      const m = new RegExp(
        `^expiry-time="(\\d{14})" ${key.type} ${key.blob.replace(/[+/]/g, '\\$&')} ${MARKER}-expires-(\\d+)$`,
      ).exec(line)
      expect(m).not.toBeNull()
      const expires = Number(m?.[2])
      expect(expires - before).toBeGreaterThanOrEqual(120)
      expect(expires - before).toBeLessThanOrEqual(122)
      const local = execFileSync('date', ['-d', `@${expires}`, '+%Y%m%d%H%M%S'], {
        encoding: 'utf8',
        env: { TZ: tz },
      }).trim()
      expect(m?.[1]).toBe(local)
      expect(r.report.added).toEqual({ expires, stamp: local, zone: expect.any(String) })
    },
  )

  it('writes the line without expiry-time on sshd older than 7.7 (removal and --cleanup end it)', () => {
    expect(runWithSshd('9.2p1')).toMatch(
      /^expiry-time="\d{14}" ssh-ed25519 \S+ ssm-ssh-temp-00aa11bb22cc-expires-\d+\n$/,
    )
    expect(runWithSshd('7.4p1')).toMatch(/^ssh-ed25519 \S+ ssm-ssh-temp-00aa11bb22cc-expires-\d+\n$/)
  })

  it('adds no key when its removal cannot be scheduled, and says so', () => {
    const home = homeWith(`${owner}\n`)
    const bin = mkdtempSync(join(tmpdir(), 'ssm-ssh-bin-'))
    writeFileSync(join(bin, 'setsid'), '#!/bin/sh\necho "setsid: cannot set up" >&2\nexit 1\n')
    chmodSync(join(bin, 'setsid'), 0o755)
    const r = runSimulated(home, 'add', { path: `${bin}:/usr/bin:/bin` })
    expect(r.status).toBe(1)
    expect(r.report.failed).toBe('could not start the removal job (setsid); the key was not added')
    expect(keysOf(home)).toBe(`${owner}\n`)
  })

  it('adds the missing final newline instead of gluing the key onto the owner’s last line', () => {
    const home = homeWith(owner)
    expect(runSimulated(home, 'add').status).toBe(0)
    const lines = keysOf(home).split('\n')
    expect(lines[0]).toBe(owner)
    expect(lines[1]).toContain(MARKER)
  })

  it('revoke removes this key’s ssm-ssh lines only; cleanup removes expired ones only (legacy UTC lines too)', () => {
    const other = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherOtherOtherOtherOtherOtherOtherOtherOth'
    const ours = `${key.type} ${key.blob}`
    const kept = [
      owner,
      `# ${ours} ssm-ssh-temp-mentioned in a comment`,
      `${ours} mine, not ssm-ssh's`,
      `expiry-time="29991231000000" ${other} ssm-ssh-temp-111111111111-expires-32503593600`,
    ]
    const home = homeWith(
      [
        kept[0],
        `expiry-time="29991231000000" ${ours} ssm-ssh-temp-222222222222-expires-32503593600`,
        kept[1],
        kept[2],
        kept[3],
        `expiry-time="20000101000000" ${other} ssm-ssh-temp-333333333333-expires-946684800`,
        `expiry-time="20000101000000" ${other} ssm-ssh-temp-444444444444`,
        `${other} ssm-ssh-temp-555555555555-expires-946684800`,
        '',
      ].join('\n'),
    )
    const revoked = runSimulated(home, 'revoke')
    expect(revoked.report).toEqual({ removed: 1 })
    const cleaned = runSimulated(home, 'cleanup')
    expect(cleaned.report).toEqual({ removed: 3 })
    expect(keysOf(home)).toBe(`${kept.join('\n')}\n`)
  })

  it.each([
    [
      '~/.ssh → a directory outside',
      (h: string, o: string) => symlinkSync(o, join(h, '.ssh')),
      /\.ssh is a symbolic link/,
    ],
    [
      'authorized_keys → a file outside',
      (h: string, o: string) => {
        mkdirSync(join(h, '.ssh'))
        symlinkSync(join(o, 'shadow'), join(h, '.ssh', 'authorized_keys'))
      },
      /authorized_keys is a symbolic link/,
    ],
    [
      'authorized_keys is a FIFO',
      (h: string) => {
        mkdirSync(join(h, '.ssh'))
        execFileSync('mkfifo', [join(h, '.ssh', 'authorized_keys')])
      },
      /authorized_keys is not a regular file/,
    ],
    [
      'authorized_keys is a directory',
      (h: string) => mkdirSync(join(h, '.ssh', 'authorized_keys'), { recursive: true }),
      /authorized_keys is not a regular file/,
    ],
    [
      '~/.ssh is a FIFO',
      (h: string) => execFileSync('mkfifo', [join(h, '.ssh')]),
      /\.ssh is not a directory/,
    ],
  ])('refuses when %s, and changes nothing outside', (name, plant, reason) => {
    const home = homeWith()
    const outside = mkdtempSync(join(tmpdir(), 'ssm-ssh-outside-'))
    writeFileSync(join(outside, 'shadow'), 'root:*:1::::::\n')
    plant(home, outside)
    // (cleanup passes over a home without an authorized_keys, as a FIFO ~/.ssh is)
    const actions: ScriptAction[] = [
      'add',
      'revoke',
      ...(name === '~/.ssh is a FIFO' ? [] : ['cleanup' as const]),
    ]
    for (const action of actions) {
      const r = runSimulated(home, action)
      expect(r.status).toBe(1)
      expect(r.report.failed).toMatch(reason)
    }
    expect(readFileSync(join(outside, 'shadow'), 'utf8')).toBe('root:*:1::::::\n')
    expect(existsSync(join(outside, 'authorized_keys'))).toBe(false)
  })
})
