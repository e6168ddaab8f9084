// Hybrid registration as the real amazon-ssm-agent drives it (core/agent_parser.go, agent/ssm/anonauth,
// common/identity/credentialproviders/onpremprovider): `amazon-ssm-agent -register -code -id -region`
// sends RegisterManagedInstance unsigned (anonymous credentials) with a fresh RSA public key and its
// machine fingerprint; the node then gets its role's credentials from RequestManagedInstanceRoleToken,
// RSA-signed (rsa-auth.ts), and may rotate its key with UpdateManagedInstancePublicKey.
// DeregisterManagedInstance (the caller's, SigV4) removes the node: its token requests fail after.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { type IssuedCredential, roleSessionCredential } from '../credentials.ts'
import type { SandboxState, SimInstance } from '../model.ts'
import { ApiError, awsError } from './errors.ts'
import { parseRsaSigned, rsaPssVerifies, rsaPublicKey } from './rsa-auth.ts'
import type { SignedRequest } from './sigv4.ts'
import { type Body, Checker } from './validate.ts'

/** How long RequestManagedInstanceRoleToken's credentials last (the agent renews at half of it). */
export const DEFAULT_ROLE_TOKEN_TTL_MS = 3600_000

/** The SSM operations a node calls without the caller's keys: how each is authenticated. */
export const AGENT_AUTH: Record<string, 'anonymous' | 'rsa'> = {
  RegisterManagedInstance: 'anonymous',
  RequestManagedInstanceRoleToken: 'rsa',
  UpdateManagedInstancePublicKey: 'rsa',
}

const MANAGED_ID = /^mi-[0-9a-f]{17}$/

// The SSM model gives these a lower-case `message` member; AWS sends them empty (amazon-ssm-agent
// issue #134 shows "ActivationExpired: " with nothing after the code).
const lowerCase = (code: string, message = '') => new ApiError(code, message, 400, 'message')

/** The principal an unsigned registration request acts as. */
function anonymous(state: SandboxState): IssuedCredential {
  return {
    accessKeyId: '',
    secretAccessKey: '',
    principal: { arn: `arn:aws:sts::${state.accountId}:anonymous`, userId: 'anonymous', kind: 'instance' },
  }
}

/**
 * Who sent a node's own request (Register…: nobody; RequestManagedInstanceRoleToken and
 * UpdateManagedInstancePublicKey: the managed instance whose registered key verifies the RSA signature).
 */
export function authenticateAgent(
  state: SandboxState,
  operation: string,
  req: SignedRequest,
): IssuedCredential {
  if (AGENT_AUTH[operation] === 'anonymous') return anonymous(state)
  const signed = parseRsaSigned(req, state.now())
  const instance = state.instances.get(signed.instanceId)
  if (!instance?.registration)
    throw awsError('InvalidInstanceId', `Not existing InstanceId ${signed.instanceId}`)
  const key = rsaPublicKey(instance.registration.publicKey)
  const verifies = key && signed.toSign.some((text) => rsaPssVerifies(key, text, signed.signature))
  if (signed.service !== 'ssm' || !verifies)
    throw new ApiError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided.',
      400,
    )
  return {
    accessKeyId: instance.id,
    secretAccessKey: '',
    principal: {
      arn: `arn:aws:ssm:${state.region}:${state.accountId}:managed-instance/${instance.id}`,
      userId: instance.id,
      kind: 'instance',
      instanceId: instance.id,
    },
  }
}

function checkPublicKey(body: Body, keyMember: string, typeMember: string): string {
  const key = body[keyMember] as string
  if ((body[typeMember] ?? 'Rsa') !== 'Rsa' || !rsaPublicKey(key))
    throw awsError('InvalidPublicKey', 'The public key is not valid.')
  return key
}

const newManagedId = () => `mi-${randomBytes(9).toString('hex').slice(0, 17)}`

export function registerManagedInstance(state: SandboxState, body: Body): { InstanceId: string } {
  new Checker(body)
    .required('Fingerprint')
    .required('PublicKey')
    .length('PublicKey', 392, 4096)
    .length('ActivationCode', 20, 250)
    .length('ActivationId', 36, 36)
    .oneOf('PublicKeyType', ['Rsa'])
    .done()
  const activation = state.activations.get(String(body.ActivationId ?? ''))
  if (!activation || activation.activationCode !== body.ActivationCode)
    throw awsError('InvalidActivation', 'Activation ID or code is not valid.')
  const now = state.now()
  if (activation.expirationDate.getTime() <= now.getTime()) throw lowerCase('ActivationExpired')
  if (activation.registrationsCount >= activation.registrationLimit)
    throw lowerCase('RegistrationLimitExceeded')
  const publicKey = checkPublicKey(body, 'PublicKey', 'PublicKeyType')
  let id = newManagedId()
  while (state.instances.has(id)) id = newManagedId()
  const instance: SimInstance = {
    id,
    kind: 'hybrid',
    ...(activation.defaultInstanceName ? { ssmName: activation.defaultInstanceName } : {}),
    // until its first UpdateInstanceInformation says otherwise
    computerName: '',
    ipAddress: '',
    platformType: 'Linux',
    platformName: '',
    platformVersion: '',
    agentVersion: '',
    pingStatus: 'ConnectionLost',
    lastPingDateTime: now,
    registrationDate: now,
    resourceType: 'ManagedInstance',
    activationId: activation.activationId,
    iamRole: activation.iamRole,
    tags: new Map(activation.tags),
    users: [],
    home: join(state.stateDir, 'homes', id),
    agent: 'real',
    registration: {
      publicKey,
      publicKeyType: 'Rsa',
      fingerprint: String(body.Fingerprint),
    },
  }
  state.instances.set(id, instance)
  activation.registrationsCount += 1
  return { InstanceId: id }
}

export function requestManagedInstanceRoleToken(
  state: SandboxState,
  body: Body,
  caller: IssuedCredential,
  ttlMs: number,
) {
  new Checker(body).required('Fingerprint').done()
  const instance = state.instances.get(caller.principal.instanceId ?? '')
  if (!instance?.registration) throw awsError('InvalidInstanceId')
  if (body.Fingerprint !== instance.registration.fingerprint)
    throw lowerCase('MachineFingerprintDoesNotMatch')
  const role = (instance.iamRole ?? '').split('/').pop() || 'SSMServiceRole'
  const c = roleSessionCredential(state.accountId, role, instance.id, state.now(), ttlMs, instance.id)
  state.credentials.set(c.accessKeyId, c)
  return {
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    SessionToken: c.sessionToken,
    // JSON 1.1 timestamps are epoch seconds; the agent dereferences UpdateKeyPair, so it is always sent
    TokenExpirationDate: (c.expiresAt as Date).getTime() / 1000,
    UpdateKeyPair: false,
  }
}

export function updateManagedInstancePublicKey(state: SandboxState, body: Body, caller: IssuedCredential) {
  new Checker(body)
    .required('NewPublicKey')
    .required('NewPublicKeyType')
    .length('NewPublicKey', 392, 4096)
    .oneOf('NewPublicKeyType', ['Rsa'])
    .done()
  const instance = state.instances.get(caller.principal.instanceId ?? '')
  if (!instance?.registration) throw awsError('InvalidInstanceId')
  instance.registration.publicKey = checkPublicKey(body, 'NewPublicKey', 'NewPublicKeyType')
  return {}
}

/** Every temporary key pair handed to the instance stops working (a rotation or a deregistration). */
export function revokeInstanceCredentials(state: SandboxState, instanceId: string): number {
  let revoked = 0
  for (const [keyId, c] of state.credentials) {
    if (c.principal.kind === 'instance' && c.principal.instanceId === instanceId) {
      state.credentials.delete(keyId)
      revoked++
    }
  }
  return revoked
}

export function deregisterManagedInstance(
  state: SandboxState,
  body: Body,
  disconnect?: (instanceId: string) => void,
): Record<string, never> {
  new Checker(body).required('InstanceId').pattern('InstanceId', MANAGED_ID).done()
  const id = body.InstanceId as string
  if (state.instances.get(id)?.kind !== 'hybrid') throw awsError('InvalidInstanceId')
  state.instances.delete(id)
  revokeInstanceCredentials(state, id)
  disconnect?.(id)
  return {}
}
