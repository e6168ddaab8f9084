// The fleet of one profile+region: managed instances (DescribeInstanceProperties, 1000 a page) plus
// their tags — EC2 tags for i- from DescribeInstances (1000 a page, listed beside the SSM listing),
// SSM tags for mi- from the Resource Groups Tagging API's GetResources (100 nodes a page, beside the
// listing too), or from ListTagsForResource (one call per node: a bounded pool) where the role may not
// call tag:GetResources.
import { ListTagsForResourceCommand } from '@aws-sdk/client-ssm'
import type { Instance } from '../domain/instance.ts'
import { mapPool } from '../support/pool.ts'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'
import { listInstances } from './instances.ts'

/** ListTagsForResource has no batch form; this many in flight keeps 10,000 nodes to seconds. */
export const TAG_CONCURRENCY = 32

export interface InventoryOptions {
  /** fetch SSM tags of mi- nodes (one call each) */
  ssmTags: boolean
  /** fetch EC2 tags (a few calls beside the listing); default true */
  ec2Tags?: boolean
}

/**
 * Tags of every EC2 instance in the region, listed alongside the SSM listing rather than after it:
 * 1000 a page, so at 10,000 nodes it costs no more time than the listing it runs beside.
 */
async function ec2Tags(clients: AwsClients): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>()
  const ec2 = await clients.ec2()
  const { DescribeInstancesCommand } = await (await import('./sdk/ec2-chunk.ts')).loadEc2Sdk()
  let token: string | undefined
  do {
    const page = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }],
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
  return out
}

/** Every tagged managed instance's SSM tags, 100 a page: ~100 calls for 10,000 nodes. */
async function taggingApiTags(clients: AwsClients): Promise<Map<string, Record<string, string>>> {
  const tagging = await clients.tagging()
  const { GetResourcesCommand } = await (await import('./sdk/tagging-chunk.ts')).loadTaggingSdk()
  const out = new Map<string, Record<string, string>>()
  let token: string | undefined
  do {
    const page = await tagging.send(
      new GetResourcesCommand({
        ResourceTypeFilters: ['ssm:managed-instance'],
        ResourcesPerPage: 100,
        ...(token ? { PaginationToken: token } : {}),
      }),
    )
    for (const r of page.ResourceTagMappingList ?? []) {
      // arn:aws:ssm:REGION:ACCOUNT:managed-instance/mi-…
      const id = r.ResourceARN?.split('/').pop()
      if (id) out.set(id, Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])))
    }
    token = page.PaginationToken || undefined
  } while (token)
  return out
}

async function listTagsEach(
  clients: AwsClients,
  ids: string[],
): Promise<Map<string, Record<string, string>>> {
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

const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation'])

export async function loadInventory(clients: AwsClients, options: InventoryOptions): Promise<Instance[]> {
  const ec2 =
    options.ec2Tags === false ? Promise.resolve(new Map<string, Record<string, string>>()) : ec2Tags(clients)
  ec2.catch(() => {})
  const bulk = options.ssmTags
    ? taggingApiTags(clients)
    : Promise.resolve(new Map<string, Record<string, string>>())
  bulk.catch(() => {})
  const instances = await listInstances(clients)
  const miIds = instances.filter((i) => i.id.startsWith('mi-')).map((i) => i.id)
  // a role without tag:GetResources still reads each node's tags, as before
  const ssm = bulk.catch((error: Error) => {
    if (!DENIED.has(error.name)) throw error
    return listTagsEach(clients, miIds)
  })
  let tags: Array<Map<string, Record<string, string>>>
  try {
    tags = await Promise.all([ec2, ssm])
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
