// authorized_keys as sshd(8) reads it, for the parts the sandbox honours: comments, options before
// the key type, and expiry-time="YYYYMMDD[HHMM[SS]]" (local time in sshd; UTC here, stated so).

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

/** An expiry-time value as a Date, or undefined when it is malformed (sshd then rejects the line). */
export function parseExpiryTime(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$/.exec(value)
  if (!m) return undefined
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)))
  return Number.isNaN(date.getTime()) ? undefined : date
}

/** The key lines (type + base64 [+ comment]) that are valid at `now`. */
export function parseAuthorizedKeys(text: string, now: Date): string[] {
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
      const at = parseExpiryTime(expiry[1] ?? '')
      if (at === undefined || at.getTime() <= now.getTime()) continue
    }
    keys.push(key)
  }
  return keys
}
