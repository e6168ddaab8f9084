// SigV4 verification (aws-api-notes.md §1.7, §1.10): the sandbox only accepts requests signed with
// the credentials it printed, so a client that would fail against AWS fails here too.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { IssuedCredential } from '../credentials.ts'
import { ApiError, type Protocol } from './errors.ts'

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex')
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()

export interface SignedRequest {
  method: string
  path: string
  /** the raw query string (without '?'), if any: signed in its canonical form */
  query?: string
  headers: IncomingHttpHeaders
  body: Buffer
}

/** RFC 3986 encoding, as SigV4 wants it. */
const uriEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** SigV4's canonical query string: each key and value encoded, sorted by key, then value. */
export function canonicalQuery(query: string | undefined): string {
  if (!query) return ''
  return [...new URLSearchParams(query)]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
}

/** The key pairs the sandbox accepts, by access key id (SandboxState has them). */
export interface KeyStore {
  credentials: Map<string, IssuedCredential>
}

export interface Verified {
  /** the signing service name from the credential scope */
  service: string
  /** who signed */
  credential: IssuedCredential
}

/** What the Authorization header's credential scope and X-Amz-Date name: the string to sign's frame. */
export interface Scope {
  amzDate: string
  date: string
  region: string
  service: string
  signedHeaders: string
}

/** SigV4's string to sign for this request: what the HMAC (or, for a managed instance, RSA) signs. */
export function stringToSign(req: SignedRequest, scope: Scope): string {
  const canonicalHeaders = scope.signedHeaders
    .split(';')
    .map((name) => {
      const value = req.headers[name]
      const text = Array.isArray(value) ? value.join(',') : (value ?? '')
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`
    })
    .join('')
  const canonical = [
    req.method,
    req.path,
    canonicalQuery(req.query),
    canonicalHeaders,
    scope.signedHeaders,
    sha256(req.body),
  ].join('\n')
  const credentialScope = `${scope.date}/${scope.region}/${scope.service}/aws4_request`
  return ['AWS4-HMAC-SHA256', scope.amzDate, credentialScope, sha256(canonical)].join('\n')
}

export function verifySignature(req: SignedRequest, keys: KeyStore, protocol: Protocol, now: Date): Verified {
  const fail = (jsonCode: string, queryCode: string, message: string) =>
    new ApiError(protocol === 'json' ? jsonCode : queryCode, message, protocol === 'json' ? 400 : 401)
  const auth = req.headers.authorization
  if (typeof auth !== 'string' || auth === '') {
    throw fail(
      'MissingAuthenticationTokenException',
      'MissingAuthenticationToken',
      'Missing Authentication Token',
    )
  }
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    )
  if (!m)
    throw fail(
      'IncompleteSignatureException',
      'IncompleteSignature',
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.`,
    )
  const [, keyId, date, region, service, signedHeaders, signature] = m as unknown as string[]
  const creds = keys.credentials.get(keyId as string)
  const token = req.headers['x-amz-security-token']
  if (!creds || (creds.sessionToken !== undefined && token !== creds.sessionToken)) {
    throw fail(
      'UnrecognizedClientException',
      'AuthFailure',
      'The security token included in the request is invalid.',
    )
  }
  if (creds.expiresAt && creds.expiresAt.getTime() <= now.getTime()) {
    throw fail(
      'ExpiredTokenException',
      'ExpiredToken',
      'The security token included in the request is expired',
    )
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '')
  const t = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)
  if (!t)
    throw fail(
      'IncompleteSignatureException',
      'IncompleteSignature',
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    )
  const signedAt = Date.UTC(
    Number(t[1]),
    Number(t[2]) - 1,
    Number(t[3]),
    Number(t[4]),
    Number(t[5]),
    Number(t[6]),
  )
  if (Math.abs(now.getTime() - signedAt) > 5 * 60_000) {
    throw fail(
      'InvalidSignatureException',
      'RequestExpired',
      `Signature expired: ${amzDate} is now earlier than the allowed time window.`,
    )
  }
  const toSign = stringToSign(req, { amzDate, date, region, service, signedHeaders } as Scope)
  let key = hmac(`AWS4${creds.secretAccessKey}`, date as string)
  key = hmac(key, region as string)
  key = hmac(key, service as string)
  key = hmac(key, 'aws4_request')
  const expected = createHmac('sha256', key).update(toSign).digest()
  const given = Buffer.from(signature as string, 'hex')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw fail(
      'InvalidSignatureException',
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    )
  }
  return { service: service as string, credential: creds }
}
