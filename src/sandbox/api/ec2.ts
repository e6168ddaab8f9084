// EC2 DescribeInstances (Query protocol, XML) for EC2 Name tags — aws-api-notes.md §1.8, §2.15.
import type { SandboxState, SimInstance } from '../model.ts'
import { ApiError, xmlEscape } from './errors.ts'
import { decodeToken, page } from './pagination.ts'

const MAX_FILTER_VALUES = 200

/** Flattened Query lists: Filter.1.Name, Filter.1.Value.1, InstanceId.1 … */
function listOf(form: URLSearchParams, prefix: string): string[] {
  const out: string[] = []
  for (let i = 1; form.has(`${prefix}.${i}`); i++) out.push(form.get(`${prefix}.${i}`) as string)
  return out
}

function wildcard(pattern: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '\\' && i + 1 < pattern.length)
      re += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    else if (c === '*') re += '.*'
    else if (c === '?') re += '.'
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 's')
}

function fieldOf(i: SimInstance, name: string): string[] {
  switch (name) {
    case 'instance-id':
      return [i.id]
    case 'instance-state-name':
      return ['running']
    case 'instance-state-code':
      return ['16']
    case 'private-ip-address':
      return [i.ipAddress]
    case 'availability-zone':
      return i.availabilityZone ? [i.availabilityZone] : []
    case 'platform-details':
      return ['Linux/UNIX']
    case 'tag-key':
      return [...i.tags.keys()]
    default:
      if (name.startsWith('tag:')) {
        const v = i.tags.get(name.slice(4))
        return v === undefined ? [] : [v]
      }
      throw new ApiError('InvalidParameterValue', `The filter '${name}' is invalid`, 400)
  }
}

function instanceXml(i: SimInstance): string {
  const tags = [...i.tags]
    .map(([k, v]) => `<item><key>${xmlEscape(k)}</key><value>${xmlEscape(v)}</value></item>`)
    .join('')
  return (
    `<item><instanceId>${i.id}</instanceId><imageId>ami-0123456789abcdef0</imageId>` +
    '<instanceState><code>16</code><name>running</name></instanceState>' +
    `<privateDnsName>${xmlEscape(i.computerName)}</privateDnsName><dnsName></dnsName>` +
    `<instanceType>${i.instanceType ?? 't4g.small'}</instanceType><launchTime>2026-01-01T00:00:00.000Z</launchTime>` +
    `<placement><availabilityZone>${i.availabilityZone ?? ''}</availabilityZone><tenancy>default</tenancy></placement>` +
    `<privateIpAddress>${i.ipAddress}</privateIpAddress><architecture>arm64</architecture>` +
    `<platformDetails>Linux/UNIX</platformDetails><tagSet>${tags}</tagSet></item>`
  )
}

export function describeInstances(state: SandboxState, form: URLSearchParams, requestId: string): string {
  const ids = listOf(form, 'InstanceId')
  const filters: Array<{ name: string; values: RegExp[] }> = []
  let valueCount = 0
  for (let n = 1; form.has(`Filter.${n}.Name`); n++) {
    const values = listOf(form, `Filter.${n}.Value`)
    valueCount += values.length
    filters.push({ name: form.get(`Filter.${n}.Name`) as string, values: values.map(wildcard) })
  }
  if (valueCount > MAX_FILTER_VALUES) {
    throw new ApiError(
      'FilterLimitExceeded',
      'The maximum number of filter values specified on a single call is 200',
      400,
    )
  }
  const maxText = form.get('MaxResults')
  if (maxText !== null && ids.length > 0) {
    throw new ApiError(
      'InvalidParameterCombination',
      'The parameter instancesSet cannot be used with the parameter maxResults',
      400,
    )
  }
  const max = maxText === null ? 1000 : Number(maxText)
  if (!Number.isInteger(max) || max < 5 || max > 1000) {
    throw new ApiError(
      'InvalidParameterValue',
      `Value ( ${maxText} ) for parameter maxResults is invalid. Expecting a value greater than 5.`,
      400,
    )
  }
  for (const id of ids) {
    if (!/^i-[0-9a-f]{8}([0-9a-f]{9})?$/.test(id))
      throw new ApiError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`, 400)
  }
  const ec2 = [...state.instances.values()].filter((i) => i.kind === 'ec2')
  const missing = ids.filter((id) => !ec2.some((i) => i.id === id))
  if (missing.length === 1)
    throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`, 400)
  if (missing.length > 1)
    throw new ApiError(
      'InvalidInstanceID.NotFound',
      `The instance IDs '${missing.join(', ')}' do not exist`,
      400,
    )
  const matched = ec2.filter(
    (i) =>
      (ids.length === 0 || ids.includes(i.id)) &&
      filters.every((f) => fieldOf(i, f.name).some((v) => f.values.some((re) => re.test(v)))),
  )
  const p = page(
    'DescribeInstances',
    matched,
    decodeToken('DescribeInstances', form.get('NextToken') ?? undefined, 'InvalidPaginationToken'),
    max,
  )
  const reservations = p.items
    .map(
      (i) =>
        `<item><reservationId>r-${i.id.slice(2)}</reservationId><ownerId>${state.accountId}</ownerId><groupSet/><instancesSet>${instanceXml(i)}</instancesSet></item>`,
    )
    .join('')
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${requestId}</requestId>` +
    `<reservationSet>${reservations}</reservationSet>${p.nextToken ? `<nextToken>${p.nextToken}</nextToken>` : ''}</DescribeInstancesResponse>`
  )
}
