// Session tokens, stream-URL query strings and key material never reach a log line.

const patterns: Array<[RegExp, string]> = [
  // "TokenValue":"…" in JSON, and TokenValue=… in text
  [/("?Token(?:Value)?"?\s*[:=]\s*"?)[^",\s}]+/gi, '$1<redacted>'],
  // the query of a data-channel StreamUrl carries routing details; drop it whole
  [/(wss?:\/\/[^\s"?]+)\?[^\s"]*/g, '$1?<redacted>'],
  // private keys
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '<redacted private key>'],
  // public key blobs (ssh-ed25519 AAAA…, ssh-rsa AAAA…)
  [/\b((?:ssh|ecdsa|sk)-[a-z0-9@.-]+) AAAA[A-Za-z0-9+/=]+/g, '$1 <redacted key>'],
  // AWS secrets and session tokens in key=value or JSON form
  [
    /((?:aws_)?(?:secret_access_key|secretAccessKey|session_token|sessionToken|SecretAccessKey|SessionToken)"?\s*[:=]\s*"?)[^",\s}]+/gi,
    '$1<redacted>',
  ],
]

export function redact(text: string): string {
  let out = text
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement)
  return out
}
