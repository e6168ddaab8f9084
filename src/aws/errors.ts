// SDK and network errors become our typed errors here, at the adapter edge, so commands never test
// SDK error names. The original stays as `cause` (shown with --debug).
import { deniedLine } from '../support/access-denied.ts'
import { AuthError, CliError, SessionError, TargetError } from '../support/errors.ts'

interface SdkErrorLike {
  name?: string
  message?: string
  code?: string
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number }
}

const credentialErrors = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'TokenRefreshRequired',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'AuthFailure',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'RequestExpired',
])
const deniedErrors = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
  'AuthException',
])
const throttleErrors = new Set([
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'Throttling',
])
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

export interface TranslateContext {
  /** e.g. "StartSession on mi-0123…" */
  operation: string
  profile?: string
  endpoint?: string
}

export function translateAwsError(error: unknown, context: TranslateContext): CliError {
  if (error instanceof CliError) return error
  const e = (error ?? {}) as SdkErrorLike
  const name = e.name ?? ''
  const message = (e.message ?? String(error)).split('\n')[0] ?? ''
  const profileFlag = context.profile ? ` --profile ${context.profile}` : ''
  if (
    name === 'CredentialsProviderError' ||
    /Could not load credentials|Unable to locate credentials/i.test(message)
  ) {
    return new AuthError('no AWS credentials found', {
      hint: `run "aws sso login${profileFlag}", or set AWS_PROFILE / AWS_ACCESS_KEY_ID`,
      cause: error,
    })
  }
  if (/Region is missing/i.test(message)) {
    return new AuthError('no AWS region is configured', {
      hint: 'pass --region, set AWS_REGION, or set region in your AWS profile',
      cause: error,
    })
  }
  if (credentialErrors.has(name)) {
    return new AuthError(`AWS rejected the credentials (${name}) during ${context.operation}`, {
      hint: `refresh them ("aws sso login${profileFlag}") or check the access key`,
      cause: error,
    })
  }
  if (deniedErrors.has(name)) return deniedError(message, context, error)
  if (throttleErrors.has(name)) {
    return new CliError(`AWS throttled ${context.operation} even after retries`, {
      hint: 'wait a moment and try again, or lower the concurrency',
      cause: error,
    })
  }
  const code = (error as { code?: string }).code ?? ''
  if (networkCodes.has(code) || /ECONNREFUSED|ENOTFOUND|socket hang up/.test(message)) {
    return new SessionError(
      `cannot reach the AWS endpoint${context.endpoint ? ` ${context.endpoint}` : ''} (${code || message})`,
      {
        hint: 'check the network, or that the sandbox is running when AWS_ENDPOINT_URL points at it',
        cause: error,
      },
    )
  }
  if (name === 'BadRequest' && /advanced-instances tier/.test(message)) {
    return new TargetError(`${message} (the account's hybrid nodes are on the standard tier)`, {
      hint: 'aws ssm update-service-setting --setting-id /ssm/managed-instance/activation-tier --setting-value advanced (charged per node hour); ssm-ssh doctor checks it',
      cause: error,
    })
  }
  if (name === 'TargetNotConnected') {
    return new TargetError(`${message || 'the target is not connected'}`, {
      hint: 'the instance is offline or its agent cannot open sessions: ssm-ssh ls shows its last ping',
      cause: error,
    })
  }
  if (name === 'InvalidInstanceId') {
    return new TargetError(`not a managed instance of this account and region (${context.operation})`, {
      hint: 'check --profile/--region, or list instances with ssm-ssh ls',
      cause: error,
    })
  }
  return new CliError(`${context.operation} failed: ${name ? `${name}: ` : ''}${message}`, { cause: error })
}

/** AccessDenied as one line that names the action, what it was refused on and the fix. */
function deniedError(message: string, context: TranslateContext, cause: unknown): AuthError {
  return new AuthError(
    deniedLine(message) ?? `access denied during ${context.operation}: ${message} — see \`ssm-ssh policy\``,
    { cause },
  )
}
