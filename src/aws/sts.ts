// sts:GetCallerIdentity, signed by hand (Query protocol) rather than with the STS client: one small
// call for `whoami`, against the configured endpoint (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL,
// --endpoint-url) or the region's STS endpoint, through the HTTPS proxy when there is one.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Sha256 } from '@smithy/core/checksum'
import { SignatureV4 } from '@smithy/signature-v4'
import { AuthError, CliError } from '../support/errors.ts'
import { proxyAgentFor } from '../support/proxy-agent.ts'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'
import { signable } from './signable.ts'

export interface CallerIdentity {
  account: string
  arn: string
  userId: string
}

/** --endpoint-url, else the configured STS endpoint (environment, --profile's), else the region's. */
export async function stsEndpoint(
  clients: AwsClients,
  region: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const { profile, endpoint } = clients.settings
  if (endpoint) return endpoint
  if (profile) {
    const { profileEndpoint } = await import('./ssm-target.ts')
    const configured = await profileEndpoint(profile, 'sts')
    if (configured) return configured
  }
  return env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL || `https://sts.${region}.amazonaws.com`
}

export async function callerIdentity(clients: AwsClients, env: NodeJS.ProcessEnv): Promise<CallerIdentity> {
  const region = await clients.region()
  const url = new URL(await stsEndpoint(clients, region, env))
  const body = 'Action=GetCallerIdentity&Version=2011-06-15'
  const signer = new SignatureV4({
    credentials: () => clients.credentials(),
    region,
    service: 'sts',
    sha256: Sha256,
  })
  const signed = await signer.sign(
    signable(
      'POST',
      url,
      {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    ),
  )
  const agent = await proxyAgentFor(url.href)
  const text = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest
    const req = send(
      url,
      { method: 'POST', headers: signed.headers, timeout: 15_000, ...(agent ? { agent } : {}) },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('STS did not answer in 15 s')))
    req.on('error', reject)
    req.end(body)
  }).catch((error: Error) => {
    throw translateAwsError(error, { operation: 'sts:GetCallerIdentity', endpoint: url.href })
  })
  const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text.text)?.[1] ?? ''
  if (text.status !== 200) {
    const code = tag('Code') || `HTTP ${text.status}`
    const Failure = /InvalidClientTokenId|SignatureDoesNotMatch|ExpiredToken/.test(code)
      ? AuthError
      : CliError
    throw new Failure(`sts:GetCallerIdentity failed: ${code}: ${tag('Message')}`, {
      hint: 'refresh the credentials (aws sso login, or new keys)',
    })
  }
  return { account: tag('Account'), arn: tag('Arn'), userId: tag('UserId') }
}
