// authorized_keys as sshd(8) reads it, for the parts the sandbox honours: comments, options before
// the key type, and expiry-time="YYYYMMDD[HHMM[SS]]" in the host's local time, as sshd reads it (a
// simulated instance has a time zone of its own for that).

const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+)$/

/** Split the options field, which may contain quoted commas and spaces. */
function splitOptionsAndKey(line: string): { options: string; key: string } {
  let inQuote = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (ch === '\\' && inQuote) {
      i++
      continue
    }
    if (ch === '"') inQuote = !inQuote
    else if (!inQuote && (ch === ' ' || ch === '\t'))
      return { options: line.slice(0, i), key: line.slice(i + 1).trim() }
  }
  return { options: line, key: '' }
}

/** How far `timeZone`'s wall clock is ahead of UTC at `at`, in ms. */
function offsetAt(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(at))
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value)
  const wall = Date.UTC(
    part('year'),
    part('month') - 1,
    part('day'),
    part('hour'),
    part('minute'),
    part('second'),
  )
  return wall - Math.floor(at / 1000) * 1000
}

/**
 * An expiry-time value, read as wall-clock time in `timeZone` (sshd uses mktime(3): local time), as
 * a Date; undefined when it is malformed (sshd then rejects the line).
 */
export function parseExpiryTime(value: string, timeZone = 'UTC'): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$/.exec(value)
  if (!m) return undefined
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
  if (Number.isNaN(wall)) return undefined
  // the offset at the guessed instant, then again at the corrected one (a DST change in between)
  const guess = wall - offsetAt(wall, timeZone)
  return new Date(wall - offsetAt(guess, timeZone))
}

/** The key lines (type + base64 [+ comment]) that are valid at `now` on a host in `timeZone`. */
export function parseAuthorizedKeys(text: string, now: Date, timeZone = 'UTC'): string[] {
  const keys: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const first = line.split(/\s+/, 1)[0] ?? ''
    if (KEY_TYPE.test(first)) {
      keys.push(line)
      continue
    }
    const { options, key } = splitOptionsAndKey(line)
    if (!KEY_TYPE.test(key.split(/\s+/, 1)[0] ?? '')) continue
    const expiry = /(?:^|,)expiry-time="([^"]*)"/i.exec(options)
    if (expiry) {
      const at = parseExpiryTime(expiry[1] ?? '', timeZone)
      if (at === undefined || at.getTime() <= now.getTime()) continue
    }
    keys.push(key)
  }
  return keys
}
