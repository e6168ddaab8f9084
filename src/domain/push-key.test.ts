import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultUser } from './default-user.ts'
import { instanceById } from './instance.ts'
import {
  fingerprint,
  parsePublicKey,
  parseScriptOutput,
  parseTtl,
  renderScript,
  shellQuote,
} from './push-key.ts'

const ed = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbWd0ZyYXRzIHRvIHlvdSBmb3IgcmVhZGluZyB0aGlz'

describe('push-key rules', () => {
  it('accepts one well-formed public key and drops its comment', () => {
    expect(parsePublicKey(`${ed} it's "me" $(id)\n`, 'k.pub')).toEqual({
      type: 'ssh-ed25519',
      blob: ed.split(' ')[1],
    })
  })
  it.each([
    ['two keys', `${ed}\n${ed}\n`],
    ['type mismatch', 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHbW'],
    ['not base64', 'ssh-ed25519 AAAA$(reboot)'],
    ['empty', ''],
  ])('rejects %s', (_, text) => {
    expect(() => parsePublicKey(text, 'k.pub')).toThrow(/not a single OpenSSH public key line/)
  })
  it('names a key by the fingerprint ssh-keygen -l prints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-fp-'))
    writeFileSync(join(dir, 'k.pub'), `${ed}\n`)
    const printed = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'k.pub')], { encoding: 'utf8' })
    expect(printed.split(' ')[1]).toBe(fingerprint(parsePublicKey(ed, 'k.pub')))
  })
  it('quotes for the shell so nothing is interpreted', () => {
    expect(shellQuote(`a'b $(id) \`x\``)).toBe(`'a'\\''b $(id) \`x\`'`)
    expect(
      renderScript('a=__ACTION__ u=__USER__ k=__KEY__ m=__MARKER__ t=__TTL__', {
        action: 'add',
        user: 'pi',
        key: { type: 'ssh-ed25519', blob: "AA'A" },
        marker: 'm',
        ttlSeconds: 600,
      }),
    ).toBe(`a='add' u='pi' k='ssh-ed25519 AA'\\''A' m='m' t=600`)
  })
  it('reads TTLs from 10 s to 24 h', () => {
    expect(parseTtl('10m')).toBe(600)
    expect(parseTtl('2h')).toBe(7200)
    expect(parseTtl('10')).toBe(10)
    expect(() => parseTtl('5s')).toThrow()
    expect(() => parseTtl('25h')).toThrow()
  })
  it.each([
    ['FAILED /home/pi/.ssh is a symbolic link\n', { failed: '/home/pi/.ssh is a symbolic link' }],
    [
      'EIC no\nHOSTKEY ssh-ed25519 AAAA\nADDED pi 1796100000 20261201084000 +10\n',
      { instanceConnect: false, added: { expires: 1796100000, stamp: '20261201084000', zone: '+10' } },
    ],
    ['REMOVED 3\n', { removed: 3 }],
    [
      'FAILED bob: /home/bob/.ssh is not a directory\nREMOVED 1\n',
      { failed: 'bob: /home/bob/.ssh is not a directory', removed: 1 },
    ],
  ])('reads what the script said: %j', (output, report) => {
    expect(parseScriptOutput(output)).toEqual(report)
  })
})

describe('default user', () => {
  const on = (id: string, platform: string, tags: Record<string, string> = {}) => ({
    ...instanceById(id),
    platform,
    tags,
  })
  it.each([
    ['i-0123456789abcdef0', 'Amazon Linux 2023', {}, 'ec2-user'],
    ['i-0123456789abcdef0', 'Ubuntu 24.04', {}, 'ubuntu'],
    ['i-0123456789abcdef0', 'Debian GNU/Linux 12', {}, 'admin'],
    ['mi-0123456789abcdef0', 'Raspbian GNU/Linux 11', {}, 'pi'],
    ['mi-0123456789abcdef0', 'Debian GNU/Linux 12', {}, 'pi'],
    ['mi-0123456789abcdef0', '', {}, 'pi'],
    ['i-0123456789abcdef0', '', {}, undefined],
    ['i-0123456789abcdef0', 'Amazon Linux 2', { 'ssm-ssh:user': 'deploy' }, 'deploy'],
  ])('%s on "%s" %j → %s', (id, platform, tags, user) => {
    expect(defaultUser(on(id, platform, tags))).toBe(user)
  })
})
