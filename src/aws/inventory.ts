// The fleet of one profile+region: managed instances (DescribeInstanceProperties, 1000 a page) plus
// their tags — EC2 tags for i- from DescribeInstances (200 ids a call, the filter-value cap, calls
// in parallel), SSM tags for mi- from ListTagsForResource (one call per node: a bounded pool).
import { ListTagsForResourceCommand } from '@aws-sdk/client-ssm'
import type { Instance } from '../domain/instance.ts'
import { mapPool } from '../support/pool.ts'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'
import { listInstances } from './instances.ts'

/** EC2 DescribeInstances takes at most 200 filter values per call (aws-api-notes.md §2.15). */
const EC2_IDS_PER_CALL = 200
/** ListTagsForResource has no batch form; this many in flight keeps 10,000 nodes to seconds. */
export const TAG_CONCURRENCY = 32

export interface InventoryOptions {
  /** fetch SSM tags of mi- nodes (one call each); EC2 tags always come (a few calls) */
  ssmTags: boolean
}

async function ec2Tags(clients: AwsClients, ids: string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>()
  if (ids.length === 0) return out
  const ec2 = await clients.ec2()
  const { DescribeInstancesCommand } = await import('./sdk/ec2.ts')
  const chunks: string[][] = []
  for (let i = 0; i < ids.length; i += EC2_IDS_PER_CALL) chunks.push(ids.slice(i, i + EC2_IDS_PER_CALL))
  await mapPool(chunks, 4, async (chunk) => {
    let token: string | undefined
    do {
      const page = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: 'instance-id', Values: chunk }],
          MaxResults: 1000,
          ...(token ? { NextToken: token } : {}),
        }),
      )
      for (const r of page.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          if (i.InstanceId)
            out.set(i.InstanceId, Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])))
        }
      }
      token = page.NextToken
    } while (token)
  })
  return out
}

async function ssmTags(clients: AwsClients, ids: string[]): Promise<Map<string, Record<string, string>>> {
  const ssm = await clients.ssm()
  const out = new Map<string, Record<string, string>>()
  await mapPool(ids, TAG_CONCURRENCY, async (id) => {
    const r = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: id }),
    )
    out.set(id, Object.fromEntries((r.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])))
  })
  return out
}

export async function loadInventory(clients: AwsClients, options: InventoryOptions): Promise<Instance[]> {
  const instances = await listInstances(clients)
  const ec2Ids = instances.filter((i) => i.id.startsWith('i-')).map((i) => i.id)
  const miIds = instances.filter((i) => i.id.startsWith('mi-')).map((i) => i.id)
  let tags: Array<Map<string, Record<string, string>>>
  try {
    tags = await Promise.all([
      ec2Tags(clients, ec2Ids),
      options.ssmTags ? ssmTags(clients, miIds) : new Map(),
    ])
  } catch (error) {
    throw translateAwsError(error, { operation: 'reading instance tags' })
  }
  for (const instance of instances) {
    const t = tags[0]?.get(instance.id) ?? tags[1]?.get(instance.id)
    if (!t) continue
    instance.tags = t
    // The Name tag is what people call a node; DescribeInstanceProperties' Name is only the EC2 one
    if (t.Name) instance.name = t.Name
  }
  return instances
}
