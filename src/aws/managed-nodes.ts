// A hybrid node's life after registration, as enroll and reactivate see it: its status and host name
// (DescribeInstanceInformation), its Name tag (ListTagsForResource / AddTagsToResource), waiting until
// it is Online, whether an agent holds its Session Manager channel now (GetConnectionStatus), and
// DeregisterManagedInstance once no machine uses its id any more.
import {
  AddTagsToResourceCommand,
  DeregisterManagedInstanceCommand,
  DescribeInstanceInformationCommand,
  GetConnectionStatusCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ssm'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'

export interface NodeStatus {
  id: string
  pingStatus: string
  computerName: string
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })

/** The node as DescribeInstanceInformation lists it; undefined when it is not (deregistered, unknown). */
export async function nodeStatus(clients: AwsClients, id: string): Promise<NodeStatus | undefined> {
  const ssm = await clients.ssm()
  try {
    const out = await ssm.send(
      new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }),
    )
    const info = out.InstanceInformationList?.find((i) => i.InstanceId === id)
    return info ? { id, pingStatus: info.PingStatus ?? '', computerName: info.ComputerName ?? '' } : undefined
  } catch (error) {
    if ((error as Error).name === 'InvalidInstanceId') return undefined
    throw translateAwsError(error, { operation: 'DescribeInstanceInformation' })
  }
}

/** Polls until the node is Online; resolves with how long that took, or undefined at the deadline. */
export async function waitOnline(
  clients: AwsClients,
  id: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<number | undefined> {
  const started = Date.now()
  while (!signal.aborted) {
    if ((await nodeStatus(clients, id))?.pingStatus === 'Online') return Date.now() - started
    if (Date.now() - started >= timeoutMs) return undefined
    await sleep(500, signal)
  }
  return undefined
}

/** Sets the node's Name tag unless it already has that name; true when it changed it. */
export async function nameNode(clients: AwsClients, id: string, name: string): Promise<boolean> {
  const ssm = await clients.ssm()
  try {
    const tags = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: id }),
    )
    if (tags.TagList?.some((t) => t.Key === 'Name' && t.Value === name)) return false
    await ssm.send(
      new AddTagsToResourceCommand({
        ResourceType: 'ManagedInstance',
        ResourceId: id,
        Tags: [{ Key: 'Name', Value: name }],
      }),
    )
    return true
  } catch (error) {
    throw translateAwsError(error, { operation: 'AddTagsToResource' })
  }
}

/** Does an agent hold the node's Session Manager channel right now? (GetConnectionStatus) */
export async function isConnected(clients: AwsClients, id: string): Promise<boolean> {
  const ssm = await clients.ssm()
  try {
    const out = await ssm.send(new GetConnectionStatusCommand({ Target: id }))
    return out.Status === 'connected'
  } catch (error) {
    throw translateAwsError(error, { operation: 'GetConnectionStatus' })
  }
}

/**
 * Is any machine still using this id? It is unused once no agent has held its channel for `quietMs`
 * in a row (a clone's agent dropped from the channel is back within seconds), or once it is no longer
 * registered; gives up after `settleMs` and says it is in use. The channel, not PingStatus: a stopped
 * agent stays Online until its health pings (every 5 minutes) are missed.
 */
export async function idStillUsed(
  clients: AwsClients,
  id: string,
  options: {
    quietMs: number
    settleMs: number
    signal: AbortSignal
    /** each change of the id's channel, with the ms since the watch began */
    trace?: (line: string) => void
  },
): Promise<boolean> {
  const started = Date.now()
  let offSince: number | undefined
  let last: boolean | undefined
  while (!options.signal.aborted && Date.now() - started < options.settleMs) {
    if ((await nodeStatus(clients, id)) === undefined) return false
    const connected = await isConnected(clients, id)
    if (connected !== last) {
      options.trace?.(`${id} ${connected ? 'connected' : 'not connected'} at ${Date.now() - started} ms`)
      last = connected
    }
    if (connected) offSince = undefined
    else offSince ??= Date.now()
    if (offSince !== undefined && Date.now() - offSince >= options.quietMs) return false
    await sleep(500, options.signal)
  }
  return true
}

export async function deregisterNode(clients: AwsClients, id: string): Promise<void> {
  const ssm = await clients.ssm()
  try {
    await ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: id }))
  } catch (error) {
    throw translateAwsError(error, { operation: 'DeregisterManagedInstance' })
  }
}
