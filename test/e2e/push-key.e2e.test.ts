// push-key end to end: Run Command puts a temporary key on a hybrid node (the exact line checked),
// ssh works with it and is refused after the TTL; EC2 Instance Connect does the same for i- instances
// whose sshd asks it, and web-1, which lacks the package, gets its key by Run Command.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'
import { makeClientKey, sshBaseArgs } from '../helpers/ssh-key.ts'

describe('ssm-ssh push-key', () => {
  let w: World
  let fresh: { path: string; publicKey: string }
  const run = (...args: string[]) =>
    execa(process.execPath, [cli, 'push-key', ...args], { env: w.env, extendEnv: false, reject: false })
  const sshWith = (key: string, target: string) =>
    execa(
      'ssh',
      [
        ...sshBaseArgs(key),
        '-o',
        `ProxyCommand="${process.execPath}" "${cli}" proxy %h %p`,
        target,
        'echo in',
      ],
      { env: w.env, extendEnv: false, reject: false, timeout: 60_000 },
    )
  beforeAll(async () => {
    w = await startWorld()
    fresh = makeClientKey()
  })
  afterAll(async () => w.close())

  it('Run Command: the exact marked line, ssh works, and it is gone after the TTL', async () => {
    const id = w.idOf('pi-attic')
    expect((await sshWith(fresh.path, `pi@${id}`)).exitCode).toBe(255)
    const r = await run('pi-attic', '--key', `${fresh.path}.pub`, '--ttl', '12s')
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(
      new RegExp(
        `^ok\\s+${id}\\s+pi-attic\\s+pi\\s+key SHA256:\\S+ valid 12 s, until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC \\(Run Command\\)$`,
        'm',
      ),
    )
    expect(r.exitCode).toBe(0)
    const [type, blob] = fresh.publicKey.split(' ')
    const lines = readFileSync(
      join(w.box.state.instances.get(id)!.home, '.ssh', 'authorized_keys'),
      'utf8',
    ).split('\n')
    expect(lines.at(-2)).toMatch(
      new RegExp(
        `^expiry-time="\\d{14}" ${type} ${blob!.replace(/[+/]/g, '\\$&')} ssm-ssh-temp-[0-9a-f]{12}-expires-\\d+$`,
      ),
    )
    expect((await sshWith(fresh.path, `pi@${id}`)).stdout).toBe('in')
    // sshd refuses the line at its expiry-time; the detached removal (sleep TTL from when the script
    // ran) follows within a second or two
    await vi.waitFor(
      async () => {
        expect((await sshWith(fresh.path, `pi@${id}`)).exitCode).toBe(255)
        expect(
          readFileSync(join(w.box.state.instances.get(id)!.home, '.ssh', 'authorized_keys'), 'utf8'),
        ).not.toContain('ssm-ssh-temp-')
      },
      { timeout: 30_000, interval: 2_000 },
    )
    expect(w.box.state.requests.filter((q) => q.operation === 'SendCommand')).toHaveLength(1)
  })

  it('pins the host key: the first ssh is verified with StrictHostKeyChecking yes; a changed key is refused', async () => {
    const id = w.idOf('pi-kitchen')
    const sshDir = join(w.dir, 'pinned')
    const r = await run('pi-kitchen', '--key', `${fresh.path}.pub`, '--ssh-dir', sshDir)
    expect(r.exitCode).toBe(0)
    const knownHosts = join(sshDir, 'ssm-ssh', 'known_hosts')
    expect(readFileSync(knownHosts, 'utf8')).toMatch(new RegExp(`^${id} ssh-ed25519 AAAA\\S+\n$`))
    const strict = await execa(
      'ssh',
      [
        '-i',
        fresh.path,
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'BatchMode=yes',
        '-F',
        '/dev/null',
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `HostKeyAlias=${id}`,
        '-o',
        `ProxyCommand="${process.execPath}" "${cli}" proxy %h %p`,
        `pi@${id}`,
        'echo verified',
      ],
      { env: w.env, extendEnv: false, reject: false },
    )
    expect(strict.stdout).toBe('verified')
    // the instance is re-imaged: a new host key must not replace the pinned one
    writeFileSync(
      knownHosts,
      `${id} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOldOldOldOldOldOldOldOldOldOldOldOldOldOldOld\n`,
    )
    const changed = await run('pi-kitchen', '--key', `${fresh.path}.pub`, '--ssh-dir', sshDir)
    expect(changed.exitCode).toBe(1)
    expect(changed.stderr).toMatch(/WARNING: the ssh-ed25519 host key of mi-[0-9a-f]{17} CHANGED/)
    expect(readFileSync(knownHosts, 'utf8')).toContain('OldOld')
  })

  it('proxy --push-key --user %r: ssh to a Pi that has never seen the key, in one step', async () => {
    const stateHome = join(w.dir, 'state')
    const toolKey = join(stateHome, 'ssm-ssh', 'id_ed25519')
    mkdirSync(join(stateHome, 'ssm-ssh'), { recursive: true })
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', toolKey])
    const r = await execa(
      'ssh',
      [
        ...sshBaseArgs(toolKey),
        '-o',
        `ProxyCommand="${process.execPath}" "${cli}" proxy --push-key --user %r %h %p`,
        `pi@${w.idOf('pi-garage')}`,
        'echo fresh',
      ],
      { env: { ...w.env, XDG_STATE_HOME: stateHome }, extendEnv: false, reject: false, timeout: 60_000 },
    )
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('fresh')
  })

  it('--cleanup removes expired ssm-ssh lines and nothing else', async () => {
    const id = w.idOf('pi-kitchen')
    const file = join(w.box.state.instances.get(id)!.home, '.ssh', 'authorized_keys')
    const [type, blob] = fresh.publicKey.split(' ')
    const mine = `${w.key.publicKey}\n# a comment of mine\n`
    const expired = `expiry-time="20000101000000" ${type} ${blob} ssm-ssh-temp-0123456789ab\n`
    const valid = `expiry-time="29991231000000" ${type} ${blob} ssm-ssh-temp-ba9876543210\n`
    mkdirSync(join(file, '..'), { recursive: true })
    writeFileSync(file, mine + expired + valid)
    const r = await run('pi-kitchen', 'pi-offline', '--cleanup')
    expect(r.stdout).toMatch(
      new RegExp(`^ok\\s+${id}\\s+pi-kitchen\\s+-\\s+1 expired ssm-ssh key line\\(s\\) removed$`, 'm'),
    )
    expect(r.stdout).toMatch(/^FAILED\s+mi-[0-9a-f]{17}\s+pi-offline\s+-\s+offline/m)
    expect(readFileSync(file, 'utf8')).toBe(mine + valid)
  })

  it('EC2 Instance Connect for i-: valid at once', async () => {
    const r = await run('web-2', '--key', `${fresh.path}.pub`, '--method', 'eic')
    expect(r.stdout).toMatch(
      /^ok\s+i-[0-9a-f]{17}\s+web-2\s+ec2-user\s+key SHA256:\S+ valid 60 s \(EC2 Instance Connect\)$/m,
    )
    expect((await sshWith(fresh.path, 'ec2-user@web-2')).stdout).toBe('in')
    // EIC keys live 60 s: refused once that has passed
    await vi.waitFor(async () => expect((await sshWith(fresh.path, 'ec2-user@web-2')).exitCode).toBe(255), {
      timeout: 90_000,
      interval: 5_000,
    })
  }, 120_000)

  it('web-1 (Amazon Linux, no ec2-instance-connect): Run Command as ec2-user, and EC2 Instance Connect only once an instance has shown it asks it', async () => {
    const key = makeClientKey()
    const eicCalls = () => w.box.state.requests.filter((q) => q.operation === 'SendSSHPublicKey').length
    const eicBefore = eicCalls()
    for (let push = 0; push < 2; push++) {
      const r = await run('web-1', '--key', `${key.path}.pub`)
      expect(r.stdout, r.stderr).toMatch(
        /^ok\s+i-[0-9a-f]{17}\s+web-1\s+ec2-user\s+key SHA256:\S+ valid 600 s, until .* \(Run Command\)$/m,
      )
    }
    expect((await sshWith(key.path, 'ec2-user@web-1')).stdout).toBe('in')
    expect(eicCalls()).toBe(eicBefore)
    // forced, EC2 Instance Connect says yes on web-1 (as AWS does) and its sshd never asks for the key
    const other = makeClientKey()
    const forced = await run('web-1', '--key', `${other.path}.pub`, '--method', 'eic')
    expect(forced.stdout).toMatch(
      /^ok\s+\S+\s+web-1\s+ec2-user\s+key SHA256:\S+ valid 60 s \(EC2 Instance Connect\)$/m,
    )
    expect((await sshWith(other.path, 'ec2-user@web-1')).exitCode).toBe(255)
    // web-2 has the package: its first push goes by Run Command and finds that out, the next by EIC
    const first = await run('web-2', '--key', `${key.path}.pub`, '--ttl', '10s')
    expect(first.stdout).toMatch(/^ok\s+\S+\s+web-2\s+ec2-user\s+.*\(Run Command\)$/m)
    const second = await run('web-2', '--key', `${other.path}.pub`)
    expect(second.stdout).toMatch(/^ok\s+\S+\s+web-2\s+ec2-user\s+.*valid 60 s \(EC2 Instance Connect\)$/m)
    expect((await sshWith(other.path, 'ec2-user@web-2')).stdout).toBe('in')
  })

  it('a name that matches several instances, or none, is a row of its own; the other targets still get the key', async () => {
    const r = await run('pi-clone', 'pi-garage', 'no-such-pi', '--key', `${fresh.path}.pub`, '--ttl', '10s')
    expect(r.stdout).toMatch(
      /^FAILED\s+-\s+pi-clone\s+-\s+ambiguous: mi-[0-9a-f]{17}, mi-[0-9a-f]{17} \(pass one id\)$/m,
    )
    expect(r.stdout).toMatch(/^FAILED\s+-\s+no-such-pi\s+-\s+no managed instance matches$/m)
    expect(r.stdout).toMatch(
      new RegExp(`^ok\\s+${w.idOf('pi-garage')}\\s+pi-garage\\s+pi\\s+key SHA256:`, 'm'),
    )
    expect(r.stderr).toMatch(/^ssm-ssh: 2 of 3 targets matched no single instance/)
    expect(r.exitCode).toBe(4)
  })

  it('offline targets are reported, hostile input sends nothing', async () => {
    const before = w.box.state.requests.filter((q) => q.operation === 'SendCommand').length
    const offline = await run('pi-offline', '--key', `${fresh.path}.pub`)
    expect(offline.exitCode).toBe(1)
    expect(offline.stdout).toMatch(
      /^FAILED\s+mi-[0-9a-f]{17}\s+pi-offline\s+pi\s+offline \(ConnectionLost\)$/m,
    )
    for (const user of ['root; rm -rf /', '$(id)', "pi'", 'Pi\nroot']) {
      const r = await run('pi-garage', '--key', `${fresh.path}.pub`, '--user', user)
      expect(r.exitCode).toBe(2)
      expect(r.stderr).toMatch(/^ssm-ssh: --user .* is not a login name/)
    }
    const badKey = join(w.dir, 'bad.pub')
    writeFileSync(badKey, 'ssh-ed25519 AAAAnotakey$(reboot) x\n')
    expect((await run('pi-garage', '--key', badKey)).exitCode).toBe(2)
    expect(w.box.state.requests.filter((q) => q.operation === 'SendCommand').length).toBe(before)
  })
})

describe('ssm-ssh push-key at fleet scale', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld({ fleet: 300, seed: 4 })
  })
  afterAll(async () => w.close())

  it('200 hybrid instances: at most 4 SendCommand calls, every online one confirmed, offline reported', async () => {
    const key = makeClientKey()
    const pis = [...w.box.state.instances.values()].filter((i) => i.kind === 'hybrid').slice(0, 200)
    expect(pis.length).toBe(200)
    const started = Date.now()
    const r = await execa(
      process.execPath,
      [
        cli,
        'push-key',
        ...pis.map((i) => i.id),
        '--key',
        `${key.path}.pub`,
        '--ssh-dir',
        join(w.dir, 'scale'),
      ],
      { env: w.env, extendEnv: false, reject: false, timeout: 300_000 },
    )
    const seconds = (Date.now() - started) / 1000
    const okLines = r.stdout.split('\n').filter((l) => l.startsWith('ok '))
    const offlineLines = r.stdout.split('\n').filter((l) => /offline \(ConnectionLost\)$/.test(l))
    expect(okLines.length).toBe(pis.filter((i) => i.pingStatus === 'Online').length)
    expect(offlineLines.length).toBe(pis.filter((i) => i.pingStatus !== 'Online').length)
    const sends = w.box.state.requests.filter((q) => q.operation === 'SendCommand').length
    expect(sends).toBeLessThanOrEqual(4)
    process.stderr.write(
      `push-key: ${pis.length} hybrid instances, ${okLines.length} confirmed, ${offlineLines.length} offline, ${sends} SendCommand calls, ${seconds.toFixed(1)} s\n`,
    )
  })
})
