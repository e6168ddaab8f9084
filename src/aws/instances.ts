// Listing managed instances: DescribeInstanceProperties (1000 a page), falling back to
// DescribeInstanceInformation (50 a page) where the caller's role does not allow the former.
import {
  DescribeInstanceInformationCommand,
  paginateDescribeInstanceInformation,
  paginateDescribeInstanceProperties,
} from '@aws-sdk/client-ssm'
import type { Instance } from '../domain/instance.ts'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'

/** The fields InstanceProperty and InstanceInformation share. */
interface InstanceFields {
  InstanceId?: string
  Name?: string
  ComputerName?: string
  IPAddress?: string
  PingStatus?: string
  LastPingDateTime?: Date
  PlatformName?: string
  PlatformVersion?: string
  AgentVersion?: string
  ResourceType?: string
}

function toInstance(p: InstanceFields): Instance {
  return {
    id: p.InstanceId ?? '',
    name: p.Name ?? '',
    computerName: p.ComputerName ?? '',
    ipAddress: p.IPAddress ?? '',
    pingStatus: p.PingStatus ?? 'Unknown',
    ...(p.LastPingDateTime ? { lastPing: p.LastPingDateTime } : {}),
    platform: [p.PlatformName, p.PlatformVersion].filter(Boolean).join(' '),
    agentVersion: p.AgentVersion ?? '',
    resourceType: p.ResourceType ?? '',
    tags: {},
  }
}

/** `onPage` sees each page as it comes, so that work on it (its tags) overlaps the rest of the listing. */
export async function listInstances(
  clients: AwsClients,
  onPage: (page: Instance[]) => void = () => {},
): Promise<Instance[]> {
  const ssm = await clients.ssm()
  const out: Instance[] = []
  try {
    for await (const page of paginateDescribeInstanceProperties({ client: ssm, pageSize: 1000 }, {})) {
      const instances = (page.InstanceProperties ?? []).map(toInstance)
      out.push(...instances)
      onPage(instances)
    }
    return out
  } catch (error) {
    if ((error as Error).name !== 'AccessDeniedException')
      throw translateAwsError(error, { operation: 'DescribeInstanceProperties' })
  }
  try {
    out.length = 0
    for await (const page of paginateDescribeInstanceInformation({ client: ssm, pageSize: 50 }, {})) {
      const instances = (page.InstanceInformationList ?? []).map(toInstance)
      out.push(...instances)
      onPage(instances)
    }
    return out
  } catch (error) {
    throw translateAwsError(error, { operation: 'DescribeInstanceInformation' })
  }
}

/** One instance by id, to explain a refused session (offline since when, agent too old). */
export async function describeInstance(clients: AwsClients, id: string): Promise<Instance | undefined> {
  const ssm = await clients.ssm()
  try {
    const out = await ssm.send(
      new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }),
    )
    const p = out.InstanceInformationList?.[0]
    return p ? toInstance(p) : undefined
  } catch {
    return undefined
  }
}
