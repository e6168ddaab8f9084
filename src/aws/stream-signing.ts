// The data channel's websocket upgrade, SigV4-signed as session-manager-plugin ≥ 1.2.688 and the agent
// sign it (service ssmmessages, the session's region, the caller's credentials), unless the StreamUrl
// is presigned (session-protocol.md §1.1). AWS has announced the end of unsigned, older plugins.
import { Sha256 } from '@smithy/core/checksum'
import { SignatureV4 } from '@smithy/signature-v4'
import { VERSION } from '../support/version.ts'
import type { AwsClients } from './clients.ts'
import { signable } from './signable.ts'

const PRESIGNED = /^x-amz-(algorithm|credential|date|expires|signedheaders|signature|security-token)$/i

export function isPresigned(url: URL): boolean {
  return [...url.searchParams.keys()].some((k) => PRESIGNED.test(k))
}

/** Headers for the upgrade GET of `streamUrl`: Host, X-Amz-Date, the token if any, Authorization. */
export async function upgradeHeaders(
  clients: AwsClients,
  streamUrl: string,
): Promise<Record<string, string>> {
  const url = new URL(streamUrl)
  if (isPresigned(url)) return {}
  const signer = new SignatureV4({
    credentials: () => clients.credentials(),
    region: await clients.region(),
    service: 'ssmmessages',
    sha256: Sha256,
  })
  const signed = await signer.sign(signable('GET', url, { 'user-agent': `ssm-ssh/${VERSION}` }))
  const headers: Record<string, string> = {}
  // ws sets Host itself (the same value); the rest go as signed
  for (const [k, v] of Object.entries(signed.headers)) if (k.toLowerCase() !== 'host') headers[k] = String(v)
  return headers
}
