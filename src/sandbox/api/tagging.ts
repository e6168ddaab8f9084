// Resource Groups Tagging API GetResources, for the SSM tags of managed instances at scale: 100
// resources a page where ListTagsForResource needs a call per node. Facts from the API model in
// @aws-sdk/client-resource-groups-tagging-api 3.1142.0: ResourcesPerPage 1–100, TagsPerPage 100–500,
// TagFilters ≤ 50 (values ≤ 20), ResourceTypeFilters, ResourceARNList 1–100 and exclusive with the
// filters and paging members (InvalidParameterException), an empty PaginationToken on the last page.
// Only resources that carry tags are listed. EC2 instances' tags stay with EC2 (DescribeInstances).
import type { SandboxState, SimInstance } from '../model.ts'
import { ApiError } from './errors.ts'
import { decodeToken, page } from './pagination.ts'
import { type Body, Checker } from './validate.ts'

const RESOURCE_TYPE = 'ssm:managed-instance'

const invalid = (message: string) => new ApiError('InvalidParameterException', message, 400)

export function managedInstanceArn(state: SandboxState, id: string): string {
  return `arn:aws:ssm:${state.region}:${state.accountId}:managed-instance/${id}`
}

function matchesType(filters: string[], instance: SimInstance): boolean {
  if (filters.length === 0) return true
  return filters.some((f) => f === 'ssm' || f === RESOURCE_TYPE) && instance.kind === 'hybrid'
}

export function getResources(state: SandboxState, body: Body) {
  new Checker(body)
    .range('ResourcesPerPage', 1, 100)
    .range('TagsPerPage', 100, 500)
    .length('TagFilters', 0, 50)
    .length('ResourceTypeFilters', 0, 100)
    .length('ResourceARNList', 1, 100)
    .done()
  const arns = body.ResourceARNList as string[] | undefined
  if (
    arns &&
    (body.TagFilters !== undefined ||
      body.ResourceTypeFilters !== undefined ||
      body.ResourcesPerPage !== undefined ||
      body.TagsPerPage !== undefined ||
      body.PaginationToken !== undefined)
  )
    throw invalid(
      'ResourceARNList cannot be used with TagFilters, ResourceTypeFilters or pagination parameters',
    )
  const types = (body.ResourceTypeFilters as string[] | undefined) ?? []
  for (const t of types) {
    if (!/^[a-z0-9-]+(:[a-z0-9-]+)?$/.test(t)) throw invalid(`Unsupported resource type: ${t}`)
  }
  const tagFilters = (body.TagFilters as Array<{ Key?: string; Values?: string[] }> | undefined) ?? []
  for (const f of tagFilters) {
    if (!f.Key || f.Key.length > 128) throw invalid('TagFilter Key must be 1 to 128 characters')
    if ((f.Values?.length ?? 0) > 20) throw invalid('TagFilter may have at most 20 values')
  }
  // by ARN: a lookup per ARN (unknown ones are left out, not an error); otherwise the whole fleet
  const candidates = arns
    ? arns.flatMap((arn) => {
        const instance = state.instances.get(arn.slice(arn.lastIndexOf('/') + 1))
        return instance && managedInstanceArn(state, instance.id) === arn ? [instance] : []
      })
    : [...state.instances.values()]
  const tagged = candidates.filter(
    (i) =>
      i.kind === 'hybrid' &&
      i.tags.size > 0 &&
      matchesType(types, i) &&
      tagFilters.every((f) => {
        const value = i.tags.get(f.Key as string)
        return value !== undefined && (!f.Values?.length || f.Values.includes(value))
      }),
  )
  // a token that does not decode is InvalidParameterException in this API
  const offset = decodeToken('GetResources', body.PaginationToken, 'InvalidParameterException')
  const p = page('GetResources', tagged, offset, (body.ResourcesPerPage as number | undefined) ?? 100)
  return {
    PaginationToken: p.nextToken ?? '',
    ResourceTagMappingList: p.items.map((i) => ({
      ResourceARN: managedInstanceArn(state, i.id),
      Tags: [...i.tags].map(([Key, Value]) => ({ Key, Value })),
    })),
  }
}
