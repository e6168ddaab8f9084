import { describe, expect, it } from 'vitest'
import { expiryTime, keyLine, parsePublicKey, parseTtl, renderScript, shellQuote } from './push-key.ts'

const ed = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbWd0ZyYXRzIHRvIHlvdSBmb3IgcmVhZGluZyB0aGlz'

describe('push-key rules', () => {
  it('accepts one well-formed public key and drops its comment', () => {
    const key = parsePublicKey(`${ed} it's "me" $(id)\n`, 'k.pub')
    expect(keyLine(key, new Date('2026-11-24T10:20:30Z'), 'ssm-ssh-temp-abc')).toBe(
      `expiry-time="20261124102030" ${ed} ssm-ssh-temp-abc`,
    )
  })
  it.each([
    ['two keys', `${ed}\n${ed}\n`],
    ['type mismatch', 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHbW'],
    ['not base64', 'ssh-ed25519 AAAA$(reboot)'],
    ['empty', ''],
  ])('rejects %s', (_, text) => {
    expect(() => parsePublicKey(text, 'k.pub')).toThrow(/not a single OpenSSH public key line/)
  })
  it('quotes for the shell so nothing is interpreted', () => {
    expect(shellQuote(`a'b $(id) \`x\``)).toBe(`'a'\\''b $(id) \`x\`'`)
    expect(
      renderScript('u=__USER__ k=__KEYLINE__ m=__MARKER__ t=__TTL__', {
        user: 'pi',
        keyline: 'k\'"',
        marker: 'm',
        ttlSeconds: 600,
      }),
    ).toBe(`u='pi' k='k'\\''"' m='m' t=600`)
  })
  it('reads TTLs from 10 s to 24 h', () => {
    expect(parseTtl('10m')).toBe(600)
    expect(parseTtl('2h')).toBe(7200)
    expect(() => parseTtl('5s')).toThrow()
    expect(() => parseTtl('25h')).toThrow()
    expect(expiryTime(new Date('2027-01-02T03:04:05Z'))).toBe('20270102030405')
  })
})
