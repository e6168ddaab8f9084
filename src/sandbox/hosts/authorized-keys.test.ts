import { describe, expect, it } from 'vitest'
import { parseAuthorizedKeys, parseExpiryTime } from './authorized-keys.ts'

const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbWd0ZyYXRzIHRvIHlvdSBmb3IgcmVhZGluZyB0aGlz'

describe('expiry-time, read as sshd reads it: the host’s local time', () => {
  it.each([
    ['20261201084000', 'UTC', '2026-12-01T08:40:00.000Z'],
    ['20261201084000', 'Etc/GMT-10', '2026-11-30T22:40:00.000Z'],
    ['20261201084000', 'Etc/GMT+8', '2026-12-01T16:40:00.000Z'],
    ['202612010840', 'Etc/GMT-10', '2026-11-30T22:40:00.000Z'],
    ['20260329023000', 'Europe/Berlin', '2026-03-29T01:30:00.000Z'],
    ['20260701120000', 'Europe/Berlin', '2026-07-01T10:00:00.000Z'],
  ])('%s in %s is %s', (value, zone, iso) => {
    expect(parseExpiryTime(value, zone)?.toISOString()).toBe(iso)
  })
  it('rejects malformed values', () => {
    expect(parseExpiryTime('2026120108', 'UTC')).toBeUndefined()
    expect(parseExpiryTime('soon', 'UTC')).toBeUndefined()
  })
  it('a key valid for 2 minutes in UTC+10 is valid now and not after', () => {
    const now = new Date('2026-11-30T22:40:00Z')
    const text = `expiry-time="20261201084200" ${key} ssm-ssh-temp-00aa11bb22cc-expires-1796078520\n`
    expect(parseAuthorizedKeys(text, now, 'Etc/GMT-10')).toHaveLength(1)
    expect(parseAuthorizedKeys(text, new Date(now.getTime() + 120_000), 'Etc/GMT-10')).toHaveLength(0)
    // read as UTC, the same line would have 10 more hours
    expect(parseAuthorizedKeys(text, new Date(now.getTime() + 120_000), 'UTC')).toHaveLength(1)
  })
})
