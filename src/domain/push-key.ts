// The temporary key line and the Run Command script that installs it. Everything that reaches the
// remote shell is single-quoted here; the user's key comment is dropped, so a hostile comment is
// never written; the key itself is checked to be one well-formed public key.
import { UsageError } from '../support/errors.ts'

export interface PublicKey {
  type: string
  blob: string
}

const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
])

/** One OpenSSH public key line (type, base64, optional comment), else a UsageError. */
export function parsePublicKey(text: string, source: string): PublicKey {
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  const [type = '', blob = ''] = (lines[0] ?? '').trim().split(/\s+/)
  const fail = () =>
    new UsageError(`${source} is not a single OpenSSH public key line`, {
      hint: 'pass a .pub file, e.g. --key ~/.ssh/id_ed25519.pub',
    })
  if (lines.length !== 1 || !KEY_TYPES.has(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) throw fail()
  // the blob starts with its own type as a length-prefixed string
  const raw = Buffer.from(blob, 'base64')
  const n = raw.length >= 4 ? raw.readUInt32BE(0) : -1
  if (n <= 0 || raw.subarray(4, 4 + n).toString('latin1') !== type) throw fail()
  return { type, blob }
}

export function validUser(user: string): boolean {
  return /^[a-z_][a-z0-9_-]{0,31}$/.test(user)
}

/** sshd's expiry-time format (sshd(8)): YYYYMMDDHHMMSS, here in UTC. */
export function expiryTime(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14)
}

export function keyLine(key: PublicKey, expiresAt: Date, marker: string): string {
  return `expiry-time="${expiryTime(expiresAt)}" ${key.type} ${key.blob} ${marker}`
}

/** POSIX single quotes: the one quoting with no special characters inside. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

export function renderScript(
  template: string,
  values: { user: string; keyline: string; plainline?: string; marker: string; ttlSeconds: number },
): string {
  return template
    .replace('__USER__', shellQuote(values.user))
    .replace('__KEYLINE__', shellQuote(values.keyline))
    .replace('__PLAINLINE__', shellQuote(values.plainline ?? values.keyline))
    .replace('__MARKER__', shellQuote(values.marker))
    .replace('__TTL__', String(Math.round(values.ttlSeconds)))
}

/** 10m, 90s, 2h → seconds (1 minute to 24 hours). */
export function parseTtl(text: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(text)
  const seconds = m
    ? Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 's' || m[2] === undefined ? 1 : 60)
    : Number.NaN
  if (!Number.isFinite(seconds) || seconds < 10 || seconds > 86_400) {
    throw new UsageError(`--ttl ${text} is not a duration from 10s to 24h`, { hint: 'e.g. --ttl 10m' })
  }
  return seconds
}
