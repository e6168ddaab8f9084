// The temporary key and the Run Command script that installs, revokes or cleans it up. Everything
// that reaches the remote shell is single-quoted here; the user's key comment is dropped, so a hostile
// comment is never written; the key itself is checked to be one well-formed public key. The key line
// itself is made on the instance (templates/push-key.sh): its expiry-time must be in the instance's
// own local time, which only the instance knows.
import { createHash } from 'node:crypto'
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

/** The fingerprint `ssh-keygen -l` prints: SHA256 of the key blob, base64 without padding. */
export function fingerprint(key: PublicKey): string {
  const digest = createHash('sha256').update(Buffer.from(key.blob, 'base64')).digest('base64')
  return `SHA256:${digest.replace(/=+$/, '')}`
}

export function validUser(user: string): boolean {
  return /^[a-z_][a-z0-9_-]{0,31}$/.test(user)
}

/** POSIX single quotes: the one quoting with no special characters inside. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

export type ScriptAction = 'add' | 'revoke' | 'cleanup'

export function renderScript(
  template: string,
  values: { action: ScriptAction; user: string; key?: PublicKey; marker: string; ttlSeconds: number },
): string {
  return template
    .replace('__ACTION__', shellQuote(values.action))
    .replace('__USER__', shellQuote(values.user))
    .replace('__KEY__', shellQuote(values.key ? `${values.key.type} ${values.key.blob}` : ''))
    .replace('__MARKER__', shellQuote(values.marker))
    .replace('__TTL__', String(Math.round(values.ttlSeconds)))
}

/** What the script printed (templates/push-key.sh): its verdict and what it learnt on the way. */
export interface ScriptReport {
  /** the first FAILED line's reason */
  failed?: string
  /** add: until when (epoch seconds, the instance's clock) and that time as the instance wrote it */
  added?: { expires: number; stamp: string; zone: string }
  /** revoke, cleanup: lines removed */
  removed?: number
  /** add: whether sshd asks EC2 Instance Connect (its AuthorizedKeysCommand) */
  instanceConnect?: boolean
}

export function parseScriptOutput(output: string): ScriptReport {
  const report: ScriptReport = {}
  const failed = /^FAILED (.+)$/m.exec(output)?.[1]
  if (failed !== undefined) report.failed = failed
  const added = /^ADDED \S+ (\d+) (\d{14}) ?(\S*)$/m.exec(output)
  if (added) report.added = { expires: Number(added[1]), stamp: added[2] as string, zone: added[3] ?? '' }
  const removed = /^REMOVED (\d+)$/m.exec(output)?.[1]
  if (removed !== undefined) report.removed = Number(removed)
  const eic = /^EIC (yes|no)$/m.exec(output)?.[1]
  if (eic !== undefined) report.instanceConnect = eic === 'yes'
  return report
}

/** 10m, 90s, 2h → seconds (10 seconds to 24 hours). */
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
