// How a registered managed instance signs RequestManagedInstanceRoleToken and
// UpdateManagedInstancePublicKey (amazon-ssm-agent agent/ssm/rsaauth, agent/managedInstances/auth):
// a SigV4 string to sign, the usual `AWS4-HMAC-SHA256 Credential=<mi-id>/<date>/<region>/ssm/aws4_request,
// SignedHeaders=…, Signature=…` header, but the signature is RSA-PSS (SHA-256, 32-byte salt) of that
// string with the instance's private key, base64 — not an HMAC. The key it registered with
// (PublicKey: base64 DER SubjectPublicKeyInfo, PublicKeyType "Rsa") verifies it.
import { constants, createPublicKey, type KeyObject, verify } from 'node:crypto'
import { ApiError } from './errors.ts'
import { type SignedRequest, stringToSign } from './sigv4.ts'

export interface RsaSigned {
  /** the Credential's key id: the managed instance's id */
  instanceId: string
  region: string
  service: string
  /**
   * the string the signature covers: the agent's signer (an old copy of the SDK's) puts its URL's
   * host in the canonical request, port and all (`127.0.0.1:443`), while its HTTP client sends
   * `Host: 127.0.0.1`; so with a port-less Host header, the same host with :443 is tried too
   */
  toSign: string[]
  signature: Buffer
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([A-Za-z0-9+/]+={0,2})$/

/** The header's parts and the string to sign; throws as SigV4 does for a malformed or stale request. */
export function parseRsaSigned(req: SignedRequest, now: Date): RsaSigned {
  const auth = req.headers.authorization
  if (typeof auth !== 'string' || auth === '')
    throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 400)
  const m = AUTH.exec(auth)
  if (!m)
    throw new ApiError(
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.`,
      400,
    )
  const [, instanceId, date, region, service, signedHeaders, signature] = m as unknown as string[]
  const amzDate = String(req.headers['x-amz-date'] ?? '')
  const t = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)
  if (!t)
    throw new ApiError(
      'IncompleteSignatureException',
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
      400,
    )
  const signedAt = Date.UTC(
    +(t[1] ?? 0),
    +(t[2] ?? 1) - 1,
    +(t[3] ?? 0),
    +(t[4] ?? 0),
    +(t[5] ?? 0),
    +(t[6] ?? 0),
  )
  if (Math.abs(now.getTime() - signedAt) > 5 * 60_000)
    throw new ApiError(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than the allowed time window.`,
      400,
    )
  const scope = {
    amzDate,
    date: date as string,
    region: region as string,
    service: service as string,
    signedHeaders: signedHeaders as string,
  }
  return {
    instanceId: instanceId as string,
    region: scope.region,
    service: scope.service,
    toSign: hostsSigned(req).map((headers) => stringToSign({ ...req, headers }, scope)),
    signature: Buffer.from(signature as string, 'base64'),
  }
}

function hostsSigned(req: SignedRequest): SignedRequest['headers'][] {
  const host = String(req.headers.host ?? '')
  if (host === '' || /:\d+$/.test(host)) return [req.headers]
  return [req.headers, { ...req.headers, host: `${host}:443` }]
}

/** The agent's PublicKey (base64 DER SPKI) as a key; undefined when it is not an RSA public key. */
export function rsaPublicKey(encoded: string): KeyObject | undefined {
  try {
    const key = createPublicKey({ key: Buffer.from(encoded, 'base64'), format: 'der', type: 'spki' })
    return key.asymmetricKeyType === 'rsa' ? key : undefined
  } catch {
    return undefined
  }
}

/** Does `signature` sign `message` with the private half of `publicKey` (RSA-PSS, SHA-256)? */
export function rsaPssVerifies(publicKey: KeyObject, message: string, signature: Buffer): boolean {
  try {
    return verify(
      'sha256',
      Buffer.from(message, 'utf8'),
      {
        key: publicKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_AUTO,
      },
      signature,
    )
  } catch {
    return false
  }
}
