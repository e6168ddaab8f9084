// The fleet of one profile+region: managed instances (DescribeInstanceProperties, 1000 a page) plus
// their tags — EC2 tags for i- from DescribeInstances (1000 a page, listed beside the SSM listing),
// SSM tags for mi- from the Resource Groups Tagging API's GetResources (its first page beside the
// listing, then 100 nodes a call by ARN, 16 calls at once), or from ListTagsForResource (one call per node: a bounded pool) where the role may not
// call tag:GetResources.
import { ListTagsForResourceCommand } from '@aws-sdk/client-ssm'
import type { Instance } from '../domain/instance.ts'
import { mapPool } from '../support/pool.ts'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'
import { listInstances } from './instances.ts'

/** ListTagsForResource has no batch form; this many in flight keeps 10,000 nodes to seconds. */
export const TAG_CONCURRENCY = 32
/** GetResources takes at most 100 ARNs a call; 16 calls at once read 10,000 nodes' tags in ~0.5 s. */
const ARNS_PER_CALL = 100
const TAG_CALLS_IN_FLIGHT = 16

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

type TagMap = Map<string, Record<string, string>>

/** GetResources' first page: tags of up to 100 managed instances and the ARN shape of this account. */
async function firstTagPage(
  clients: AwsClients,
): Promise<{ tags: TagMap; more: boolean; arnPrefix?: string }> {
  const tagging = await clients.tagging()
  const { GetResourcesCommand } = await (await import('./sdk/tagging-chunk.ts')).loadTaggingSdk()
  const page = await tagging.send(
    new GetResourcesCommand({ ResourceTypeFilters: ['ssm:managed-instance'], ResourcesPerPage: 100 }),
  )
  const tags: TagMap = new Map()
  let arnPrefix: string | undefined
  for (const r of page.ResourceTagMappingList ?? []) {
    // arn:aws:ssm:REGION:ACCOUNT:managed-instance/mi-…
    const arn = r.ResourceARN ?? ''
    const slash = arn.lastIndexOf('/')
    arnPrefix ??= arn.slice(0, slash + 1)
    tags.set(
      arn.slice(slash + 1),
      Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    )
  }
  return { tags, more: Boolean(page.PaginationToken), ...(arnPrefix ? { arnPrefix } : {}) }
}

/**
 * SSM tags from the Tagging API: the first page (beside the listing) gives the account's ARN shape;
 * the nodes of each listing page are then asked for by ARN as the page arrives, 100 a call,
 * TAG_CALLS_IN_FLIGHT at once, while the listing goes on. Following PaginationToken instead would be
 * one call after another: 80 of them, 8 s at 100 ms, for 8,000 nodes. Adds to the first page's map.
 */
async function taggingApiTags(
  clients: AwsClients,
  first: ReturnType<typeof firstTagPage>,
  ids: string[],
): Promise<TagMap> {
  const { tags, more, arnPrefix } = await first
  if (!more || !arnPrefix) return tags
  const tagging = await clients.tagging()
  const { GetResourcesCommand } = await (await import('./sdk/tagging-chunk.ts')).loadTaggingSdk()
  const rest = ids.filter((id) => !tags.has(id))
  const chunks: string[][] = []
  for (let i = 0; i < rest.length; i += ARNS_PER_CALL) chunks.push(rest.slice(i, i + ARNS_PER_CALL))
  await mapPool(chunks, TAG_CALLS_IN_FLIGHT, async (chunk) => {
    const page = await tagging.send(
      new GetResourcesCommand({ ResourceARNList: chunk.map((id) => `${arnPrefix}${id}`) }),
    )
    for (const r of page.ResourceTagMappingList ?? []) {
      const id = (r.ResourceARN ?? '').split('/').pop() ?? ''
      tags.set(id, Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])))
    }
  })
  return tags
}

async function listTagsEach(clients: AwsClients, ids: string[]): Promise<TagMap> {
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

const miIdsOf = (instances: Instance[]) => instances.filter((i) => i.id.startsWith('mi-')).map((i) => i.id)

const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation'])

export async function loadInventory(clients: AwsClients, options: InventoryOptions): Promise<Instance[]> {
  const ec2 =
    options.ec2Tags === false ? Promise.resolve(new Map<string, Record<string, string>>()) : ec2Tags(clients)
  ec2.catch(() => {})
  const first = options.ssmTags ? firstTagPage(clients) : Promise.resolve({ tags: new Map(), more: false })
  first.catch(() => {})
  const perPage: Array<Promise<TagMap>> = []
  const instances = await listInstances(clients, (page) => {
    if (!options.ssmTags) return
    const fetched = taggingApiTags(clients, first, miIdsOf(page))
    fetched.catch(() => {})
    perPage.push(fetched)
  })
  // a role without tag:GetResources still reads each node's tags, as before
  const ssm = Promise.all([first, ...perPage])
    .then(([{ tags }]) => tags)
    .catch((error: Error) => {
      if (!DENIED.has(error.name)) throw error
      return listTagsEach(clients, miIdsOf(instances))
    })
  let tags: TagMap[]
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
