// templates/push-key.sh run for real with a fake sshd/getent on PATH: the exact line written, and
// the fallback for sshd older than 7.7 (which rejects a line carrying expiry-time).
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { keyLine, parsePublicKey, renderScript } from './push-key.ts'

const template = readFileSync(join(import.meta.dirname, '../../templates/push-key.sh'), 'utf8')
const key = parsePublicKey(
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbWd0ZyYXRzIHRvIHlvdSBmb3IgcmVhZGluZyB0aGlz c',
  'k',
)

function runWith(sshdVersion: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-script-'))
  const bin = join(dir, 'bin')
  const home = join(dir, 'home')
  mkdirSync(bin)
  mkdirSync(home)
  writeFileSync(
    join(bin, 'sshd'),
    `#!/bin/sh\necho "unknown option -- V" >&2\necho "OpenSSH_${sshdVersion}, OpenSSL 1.1" >&2\nexit 1\n`,
  )
  writeFileSync(join(bin, 'getent'), `#!/bin/sh\necho "pi:x:1000:1000::${home}:/bin/sh"\n`)
  // run as an ordinary user, as on a Pi where the agent is not root (no chown)
  writeFileSync(join(bin, 'id'), '#!/bin/sh\necho 1000\n')
  chmodSync(join(bin, 'id'), 0o755)
  chmodSync(join(bin, 'sshd'), 0o755)
  chmodSync(join(bin, 'getent'), 0o755)
  const marker = 'ssm-ssh-temp-00aa11bb22cc'
  const script = renderScript(template, {
    user: 'pi',
    keyline: keyLine(key, new Date('2030-01-02T03:04:05Z'), marker),
    plainline: `${key.type} ${key.blob} ${marker}`,
    marker,
    ttlSeconds: 600,
  })
  execFileSync('/bin/sh', ['-c', script], { env: { PATH: `${bin}:/usr/bin:/bin` } })
  return readFileSync(join(home, '.ssh', 'authorized_keys'), 'utf8')
}

describe('templates/push-key.sh', () => {
  it('writes the expiry-time line on sshd ≥ 7.7', () => {
    expect(runWith('9.2p1')).toBe(
      `expiry-time="20300102030405" ${key.type} ${key.blob} ssm-ssh-temp-00aa11bb22cc\n`,
    )
  })
  it('writes the line without expiry-time on older sshd (removal alone then)', () => {
    expect(runWith('7.4p1')).toBe(`${key.type} ${key.blob} ssm-ssh-temp-00aa11bb22cc\n`)
  })
})
