// The calls the real amazon-ssm-agent makes (agent-service-protocol.md §1–§2): its health report
// (UpdateInstanceInformation drives PingStatus, AgentVersion, IP and ComputerName), associations, and
// the ec2messages (MDS) long poll, which stays empty: commands reach the agent over MGS.

import { sleep } from '../../support/sleep.ts'
import type { SandboxState } from '../model.ts'
import { awsError } from './errors.ts'
import { type Body, Checker } from './validate.ts'

/** How long GetMessages holds the request open when there is nothing (the service's long poll). */
export const MDS_LONG_POLL_MS = 20_000

const PLATFORM_TYPES: Record<string, 'Linux' | 'Windows' | 'MacOS'> = {
  Linux: 'Linux',
  Windows: 'Windows',
  MacOS: 'MacOS',
  linux: 'Linux',
  windows: 'Windows',
  macos: 'MacOS',
}

export function updateInstanceInformation(
  state: SandboxState,
  body: Body,
  onPing: (instanceId: string) => void,
): Record<string, never> {
  new Checker(body).required('InstanceId').length('AgentVersion', 1, 64).length('ComputerName', 1, 255).done()
  const instance = state.instances.get(body.InstanceId as string)
  if (instance?.agent !== 'real') throw awsError('InvalidInstanceId')
  const text = (key: string) =>
    typeof body[key] === 'string' && body[key] !== '' ? (body[key] as string) : undefined
  instance.agentVersion = text('AgentVersion') ?? instance.agentVersion
  instance.computerName = text('ComputerName') ?? instance.computerName
  instance.ipAddress = text('IPAddress') ?? instance.ipAddress
  instance.platformName = text('PlatformName') ?? instance.platformName
  instance.platformVersion = text('PlatformVersion') ?? instance.platformVersion
  const platformType = PLATFORM_TYPES[text('PlatformType') ?? '']
  if (platformType) instance.platformType = platformType
  instance.pingStatus = 'Online'
  instance.lastPingDateTime = state.now()
  onPing(instance.id)
  return {}
}

export function listInstanceAssociations(state: SandboxState, body: Body) {
  new Checker(body).required('InstanceId').range('MaxResults', 1, 50).done()
  if (!state.instances.has(body.InstanceId as string)) throw awsError('InvalidInstanceId')
  return { Associations: [] }
}

/** The MDS long poll: nothing to deliver, answered after MDS_LONG_POLL_MS or when the sandbox closes. */
export async function getMessages(body: Body, signal: AbortSignal) {
  new Checker(body).required('Destination').required('MessagesRequestId').done()
  await sleep(MDS_LONG_POLL_MS, signal)
  return { Destination: body.Destination, Messages: [], MessagesRequestId: body.MessagesRequestId }
}
