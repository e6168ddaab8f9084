// What each API operation asks IAM for, as AWS authorises it (Service Authorization Reference):
// its action, the resources it touches and their condition keys. Operations not listed act on no
// resource type ("*"; SSM names that resource arn:aws:ssm:REGION:ACCOUNT:* in its errors).
// The caller's policy (state.callerPolicy) decides; instance roles are never subject to it.
import type { IssuedCredential } from '../credentials.ts'
import { type Access, type AccessResource, authorize, deniedMessage, tagContext } from '../iam/authorize.ts'
import type { SandboxState } from '../model.ts'
import { ApiError } from './errors.ts'
import type { Body } from './validate.ts'

export type AccessOf = (state: SandboxState, body: Body) => Access

/** An instance as a resource: i- is EC2's, mi- is SSM's; tags under ssm:resourceTag and aws:ResourceTag. */
function instanceResource(state: SandboxState, id: string, extraTagPrefixes: string[] = []): AccessResource {
  const arn = id.startsWith('mi-')
    ? `arn:aws:ssm:${state.region}:${state.accountId}:managed-instance/${id}`
    : `arn:aws:ec2:${state.region}:${state.accountId}:instance/${id}`
  const tags = state.instances.get(id)?.tags
  return { arn, context: tagContext(tags, ['ssm:resourceTag', 'aws:ResourceTag', ...extraTagPrefixes]) }
}

/** Documents AWS owns (AWS-…) have no account in their ARN; the account's own documents do. */
export function documentArn(state: SandboxState, name: string): string {
  if (name.startsWith('arn:')) return name
  const account = /^AWS/.test(name) ? '' : state.accountId
  return `arn:aws:ssm:${state.region}:${account}:document/${name}`
}

const sessionResource = (state: SandboxState, body: Body): AccessResource[] =>
  typeof body.SessionId === 'string'
    ? [{ arn: `arn:aws:ssm:${state.region}:${state.accountId}:session/${body.SessionId}` }]
    : []

const str = (v: unknown): v is string => typeof v === 'string'

export const ssmAccess: Record<string, AccessOf> = {
  // The document is authorised only when the request names one; ssm:SessionDocumentAccessCheck is
  // then true, so a policy whose StartSession statements say BoolIfExists …: true refuses requests
  // that leave DocumentName out (and with it the default shell document's check) — AWS's
  // "Enforce a session document permission check" page.
  StartSession: (state, body) => ({
    action: 'ssm:StartSession',
    resources: [
      ...(str(body.Target) ? [instanceResource(state, body.Target)] : []),
      ...(str(body.DocumentName) ? [{ arn: documentArn(state, body.DocumentName) }] : []),
    ],
    context: { 'ssm:SessionDocumentAccessCheck': [str(body.DocumentName) ? 'true' : 'false'] },
  }),
  ResumeSession: (state, body) => ({ action: 'ssm:ResumeSession', resources: sessionResource(state, body) }),
  TerminateSession: (state, body) => ({
    action: 'ssm:TerminateSession',
    resources: sessionResource(state, body),
  }),
  // Instances by id are authorised one by one with their tags; Targets (tags) name no instance
  // up front, so they are authorised as every instance, which only an untagged Allow grants.
  SendCommand: (state, body) => ({
    action: 'ssm:SendCommand',
    resources: [
      ...(Array.isArray(body.InstanceIds)
        ? body.InstanceIds.filter(str).map((id) => instanceResource(state, id))
        : []),
      ...(Array.isArray(body.Targets) && body.Targets.length > 0
        ? [{ arn: `arn:aws:ec2:${state.region}:${state.accountId}:instance/*` }]
        : []),
      ...(str(body.DocumentName) ? [{ arn: documentArn(state, body.DocumentName) }] : []),
    ],
  }),
  ListTagsForResource: (state, body) => ({
    action: 'ssm:ListTagsForResource',
    resources: str(body.ResourceId) ? [instanceResource(state, body.ResourceId)] : [],
  }),
  // a service setting by its path (/ssm/…) or its ARN
  GetServiceSetting: (state, body) => ({
    action: 'ssm:GetServiceSetting',
    resources: str(body.SettingId)
      ? [
          {
            arn: body.SettingId.startsWith('arn:')
              ? body.SettingId
              : `arn:aws:ssm:${state.region}:${state.accountId}:servicesetting${body.SettingId}`,
          },
        ]
      : [],
  }),
  AddTagsToResource: (state, body) => ({
    action: 'ssm:AddTagsToResource',
    resources: str(body.ResourceId) ? [instanceResource(state, body.ResourceId)] : [],
  }),
}

export const eicAccess: Record<string, AccessOf> = {
  SendSSHPublicKey: (state, body) => ({
    action: 'ec2-instance-connect:SendSSHPublicKey',
    resources: str(body.InstanceId) ? [instanceResource(state, body.InstanceId, ['ec2:ResourceTag'])] : [],
    ...(str(body.InstanceOSUser) ? { context: { 'ec2:osuser': [body.InstanceOSUser] } } : {}),
  }),
}

/** A client's signed websocket upgrade to a session's data channel. */
export function openDataChannelAccess(state: SandboxState, sessionId: string): Access {
  return {
    action: 'ssmmessages:OpenDataChannel',
    resources: [{ arn: `arn:aws:ssm:${state.region}:${state.accountId}:session/${sessionId}` }],
  }
}

/** The IAM action prefix of each signing service. */
const ACTION_PREFIX: Record<string, string> = {
  ssm: 'ssm',
  'ec2-instance-connect': 'ec2-instance-connect',
  ec2messages: 'ec2messages',
  tagging: 'tag',
  ec2: 'ec2',
  iam: 'iam',
}

/** An operation's access: its own entry, else its action on "*". */
export function accessOf(
  table: Record<string, AccessOf> | undefined,
  service: string,
  operation: string,
  state: SandboxState,
  body: Body,
): Access {
  const own = table?.[operation]
  if (own) return own(state, body)
  const arn = service === 'ssm' ? `arn:aws:ssm:${state.region}:${state.accountId}:*` : '*'
  return { action: `${ACTION_PREFIX[service] ?? service}:${operation}`, resources: [{ arn }] }
}

/**
 * Throws the service's own AccessDenied when the caller's policy does not allow `access`: JSON
 * services AccessDeniedException (400), EC2 UnauthorizedOperation (403, its text first says "You are
 * not authorized to perform this operation."), IAM AccessDenied (403).
 */
export function authorizeCaller(
  state: SandboxState,
  caller: IssuedCredential,
  service: string,
  access: Access,
): void {
  if (caller.principal.kind !== 'caller' || !state.callerPolicy) return
  const denial = authorize([state.callerPolicy], caller.principal, state.accountId, access)
  if (!denial) return
  const message = deniedMessage(caller.principal.arn, denial)
  if (service === 'ec2')
    throw new ApiError(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. ${message}`,
      403,
    )
  if (service === 'iam') throw new ApiError('AccessDenied', message, 403)
  throw new ApiError('AccessDeniedException', message, 400)
}
