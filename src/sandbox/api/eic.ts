// EC2 Instance Connect SendSSHPublicKey — aws-api-notes.md §2.14: the key is valid 60 s on that
// instance for that OS user; the instance's SSH server reads state.pushedKeys.
import type { SandboxState } from '../model.ts'
import { ApiError } from './errors.ts'
import { type Body, Checker } from './validate.ts'

export const EIC_KEY_LIFETIME_MS = 60_000
const OS_USER = /^[A-Za-z_][A-Za-z0-9@._-]{0,30}[A-Za-z0-9@._$-]?$|^[0-9]{2,32}$/

export function sendSshPublicKey(state: SandboxState, body: Body, requestId: string) {
  new Checker(body)
    .required('InstanceId')
    .required('InstanceOSUser')
    .required('SSHPublicKey')
    .length('InstanceId', 10, 32)
    .pattern('InstanceId', /^i-[a-f0-9]+$/)
    .length('InstanceOSUser', 1, 32)
    .pattern('InstanceOSUser', OS_USER)
    .length('SSHPublicKey', 80, 4096)
    .length('AvailabilityZone', 6, 32)
    .pattern('AvailabilityZone', /^(\w+-){2,3}\d+\w+$/)
    .done('InvalidArgsException', 400)
  const key = (body.SSHPublicKey as string).trim()
  if (!/^(ssh-ed25519|ssh-rsa) [A-Za-z0-9+/=]+( [^\n]*)?$/.test(key)) {
    throw new ApiError(
      'InvalidArgsException',
      'Invalid input parameter received for Illegal argument exception: SSH Public key is invalid',
      400,
    )
  }
  const instance = state.instances.get(body.InstanceId as string)
  if (instance?.kind !== 'ec2') {
    throw new ApiError('EC2InstanceNotFoundException', `Instance ${body.InstanceId} not found.`, 404)
  }
  if (body.AvailabilityZone !== undefined && body.AvailabilityZone !== instance?.availabilityZone) {
    throw new ApiError(
      'EC2InstanceNotFoundException',
      `Instance ${body.InstanceId} not found in ${body.AvailabilityZone}.`,
      404,
    )
  }
  const now = state.now().getTime()
  state.pushedKeys = state.pushedKeys.filter((k) => k.expiresAt.getTime() > now)
  state.pushedKeys.push({
    instanceId: instance.id,
    osUser: body.InstanceOSUser as string,
    publicKey: key,
    expiresAt: new Date(now + EIC_KEY_LIFETIME_MS),
  })
  return { RequestId: requestId, Success: true }
}
