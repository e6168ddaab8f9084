// An instance's role, as its agent's credential chain finds it: the container credentials endpoint
// (AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN), which the real agents of
// `sandbox --real` are given in place of long-lived keys. GET /v2/credentials/<instance-id> answers
// with temporary credentials of a session of the instance's role, as ECS's endpoint does; they are
// valid for six hours and renewed once less than an hour is left.
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type IssuedCredential, roleSessionCredential } from '../credentials.ts'
import type { SandboxState } from '../model.ts'

export const ROLE_CREDENTIALS_PATH = '/v2/credentials/'
const TTL_MS = 6 * 3600_000
const RENEW_BEFORE_MS = 3600_000
export const DEFAULT_INSTANCE_ROLE = 'SSMInstanceRole'

const sameText = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

/** The instance's current role credentials, minted when there are none or they are near their end. */
export function instanceRoleCredential(state: SandboxState, instanceId: string): IssuedCredential {
  const now = state.now()
  for (const c of state.credentials.values()) {
    if (c.principal.kind !== 'instance' || c.principal.instanceId !== instanceId) continue
    if (c.expiresAt && c.expiresAt.getTime() - now.getTime() > RENEW_BEFORE_MS) return c
  }
  const instance = state.instances.get(instanceId)
  const role = instance?.iamRole?.split('/').pop() || DEFAULT_INSTANCE_ROLE
  const fresh = roleSessionCredential(state.accountId, role, instanceId, now, TTL_MS, instanceId)
  state.credentials.set(fresh.accessKeyId, fresh)
  return fresh
}

/** Serves GET /v2/credentials/<id>; false when the request is not for it. */
export function handleRoleCredentials(
  state: SandboxState,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const path = (req.url ?? '/').split('?')[0] as string
  if (req.method !== 'GET' || !path.startsWith(ROLE_CREDENTIALS_PATH)) return false
  const id = decodeURIComponent(path.slice(ROLE_CREDENTIALS_PATH.length))
  const instance = state.instances.get(id)
  const given = String(req.headers.authorization ?? '')
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  if (!instance?.roleToken || !sameText(given, instance.roleToken)) {
    reply(403, { Code: 'AccessDenied', Message: 'invalid authorization token' })
    return true
  }
  const c = instanceRoleCredential(state, id)
  reply(200, {
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    Token: c.sessionToken,
    Expiration: c.expiresAt?.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  })
  return true
}
