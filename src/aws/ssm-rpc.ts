// SSM operations as plain signed AWS JSON 1.1 requests, for proxy's hot path (StartSession,
// ResumeSession, TerminateSession). Every decision about where and as whom a request goes is the
// SDK's own (ssm-target.ts): its credential chain, its region, FIPS and dual-stack settings and
// configured endpoint URLs, SSM's endpoint rules; so are its SigV4 signer and its retry
// classification. What is left out is SSMClient itself: its service model, middleware stack and
// first-call set-up cost ~40 ms of every `ssh` through proxy (measured before the code cache).
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Sha256 } from '@smithy/core/checksum'
import { isClockSkewError, isThrottlingError, isTransientError } from '@smithy/core/retry'
import { SignatureV4 } from '@smithy/signature-v4'
import type { SdkError } from '@smithy/types'
import { proxyAgentFor } from '../support/proxy-agent.ts'
import { VERSION } from '../support/version.ts'
import type { AwsSettings } from './clients.ts'
import { signable } from './signable.ts'
import { resolveSsmTarget, type SsmTarget } from './ssm-target.ts'

export type SsmCall = (operation: string, input: object) => Promise<Record<string, unknown>>

/** An AWS error as the SDK shapes it, so translateAwsError reads both alike. */
export interface ServiceError extends Error {
  $fault: 'client' | 'server'
  $metadata: { httpStatusCode?: number; requestId?: string; attempts: number }
  code?: string
}

interface Signing {
  url: URL
  signer: SignatureV4
}

/** The SDK's defaults: 100 ms base, 500 ms for throttling, at most 20 s (standard retry mode). */
const BASE_DELAY_MS = 100
const THROTTLE_BASE_DELAY_MS = 500
const MAX_DELAY_MS = 20_000
/**
 * A ProxyCommand that hangs is worse than one that fails: an attempt that has no connection or no
 * answer for this long fails with ETIMEDOUT (retried like the SDK's transient errors), and no attempt
 * starts once the call has taken DEADLINE_MS. A black-holed endpoint so fails in ~20 s, where the
 * SDK's handler (no timeouts by default) waited for the kernel's, ~2 minutes an attempt.
 */
const TIMEOUT_MS = 10_000
const DEADLINE_MS = 20_000
/** SigV4 allows 5 minutes between the signature's date and the server's clock. */
const CLOCK_SKEW_MS = 5 * 60_000

export interface SsmCallOptions {
  /** ms to wait before attempt n+1 (tests shorten it); defaults to the SDK's full-jitter backoff */
  retryDelayMs?: (attempt: number, throttled: boolean) => number
  /** ms an attempt may go without a connection or an answer (TIMEOUT_MS) */
  timeoutMs?: number
  /** ms after which no further attempt starts (DEADLINE_MS) */
  deadlineMs?: number
}

/** The SDK's standard retry delay: full jitter over an exponential ceiling. */
function backoffMs(attempt: number, throttled: boolean): number {
  const base = throttled ? THROTTLE_BASE_DELAY_MS : BASE_DELAY_MS
  return Math.floor(Math.min(MAX_DELAY_MS, Math.random() * 2 ** attempt * base))
}

/**
 * A memoized caller for these settings: region, endpoint and credentials resolve once (through
 * `target`, which clients.ts shares with region() and endpoint()).
 */
export function createSsmCall(
  settings: AwsSettings,
  options: SsmCallOptions = {},
  target: () => Promise<SsmTarget> = () => resolveSsmTarget(settings),
): SsmCall {
  let signing: Promise<Signing> | undefined
  let clockOffsetMs = 0
  const maxAttempts = settings.maxAttempts ?? 5
  const retryDelayMs = options.retryDelayMs ?? backoffMs
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS
  const deadlineMs = options.deadlineMs ?? DEADLINE_MS
  return async (operation, input) => {
    signing ??= target().then((t) => ({
      url: t.url,
      signer: new SignatureV4({
        credentials: t.credentials,
        region: t.signingRegion,
        service: 'ssm',
        sha256: Sha256,
      }),
    }))
    const { url, signer } = await signing
    const body = JSON.stringify(input)
    const started = Date.now()
    for (let attempt = 1; ; attempt++) {
      try {
        const signed = await signer.sign(
          signable(
            'POST',
            url,
            {
              'content-type': 'application/x-amz-json-1.1',
              'content-length': String(Buffer.byteLength(body)),
              'x-amz-target': `AmazonSSM.${operation}`,
              'user-agent': `ssm-ssh/${VERSION}`,
            },
            body,
          ),
          { signingDate: new Date(Date.now() + clockOffsetMs) },
        )
        return await send(url, signed.headers, body, attempt, timeoutMs)
      } catch (error) {
        const e = error as SdkError
        if (attempt >= maxAttempts) throw error
        if (isClockSkewError(e)) {
          // the SDK's clock-skew correction: sign again with the server's time, if ours is off
          const offset = Date.parse((e as { serverDate?: string }).serverDate ?? '') - Date.now()
          if (Math.abs(offset - clockOffsetMs) > CLOCK_SKEW_MS) {
            clockOffsetMs = offset
            continue
          }
          throw error
        }
        const throttled = isThrottlingError(e)
        if (!throttled && !isTransientError(e)) throw error
        const delay = retryDelayMs(attempt, throttled)
        if (Date.now() - started + delay > deadlineMs) throw error
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }
}

async function send(
  url: URL,
  headers: Record<string, string>,
  body: string,
  attempt: number,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const request = url.protocol === 'http:' ? httpRequest : httpsRequest
  const agent = await proxyAgentFor(url.href)
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers, timeout: timeoutMs, ...(agent ? { agent } : {}) },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          const status = res.statusCode ?? 0
          if (status >= 200 && status < 300) {
            try {
              resolve(text === '' ? {} : (JSON.parse(text) as Record<string, unknown>))
            } catch {
              reject(serviceError(res, text, attempt, 'SerializationException'))
            }
            return
          }
          reject(serviceError(res, text, attempt))
        })
      },
    )
    req.on('timeout', () => {
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }))
    })
    req.on('error', (error: Error & { code?: string }) => {
      reject(Object.assign(error, { $metadata: { attempts: attempt } }))
    })
    req.end(body)
  })
}

/** AWS JSON 1.1 errors: `__type` (maybe "namespace#Name") and `message`/`Message` (aws-api-notes §1.4). */
function serviceError(
  res: IncomingMessage,
  text: string,
  attempt: number,
  fallbackName?: string,
): ServiceError {
  let parsed: Record<string, unknown> = {}
  try {
    parsed = JSON.parse(text) as Record<string, unknown>
  } catch {
    // a proxy's HTML page or an empty body: the status speaks
  }
  const header = res.headers['x-amzn-errortype']
  const type = String(parsed.__type ?? (typeof header === 'string' ? header.split(':')[0] : '') ?? '')
  const status = res.statusCode ?? 0
  const name = fallbackName ?? (type.split('#').at(-1) || `HTTP${status}`)
  const message = String(parsed.message ?? parsed.Message ?? (text.slice(0, 200) || `HTTP ${status}`))
  const requestId = res.headers['x-amzn-requestid']
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? ('server' as const) : ('client' as const),
    $metadata: {
      httpStatusCode: status,
      ...(typeof requestId === 'string' ? { requestId } : {}),
      attempts: attempt,
    },
    serverDate: res.headers.date,
  })
}
