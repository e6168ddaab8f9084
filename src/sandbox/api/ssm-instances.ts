// DescribeInstanceInformation (5–50 a page), DescribeInstanceProperties (5–1000 a page),
// GetConnectionStatus — aws-api-notes.md §2.1, §2.1a, §2.6.
import type { SandboxState, SimInstance } from '../model.ts'
import { awsError } from './errors.ts'
import { decodeToken, page } from './pagination.ts'
import { type Body, Checker, INSTANCE_ID } from './validate.ts'

const epoch = (d: Date | undefined) => (d ? d.getTime() / 1000 : undefined)

const sourceType = (i: SimInstance) => (i.kind === 'ec2' ? 'AWS::EC2::Instance' : 'AWS::SSM::ManagedInstance')

/** The members InstanceInformation and InstanceProperty share (§2.1, §2.1a). */
function shared(i: SimInstance) {
  return {
    InstanceId: i.id,
    PingStatus: i.pingStatus,
    LastPingDateTime: epoch(i.lastPingDateTime),
    AgentVersion: i.agentVersion,
    PlatformType: i.platformType,
    PlatformName: i.platformName,
    PlatformVersion: i.platformVersion,
    ...(i.activationId ? { ActivationId: i.activationId } : {}),
    ...(i.iamRole ? { IamRole: i.iamRole } : {}),
    ...(i.registrationDate ? { RegistrationDate: epoch(i.registrationDate) } : {}),
    ResourceType: i.resourceType,
    IPAddress: i.ipAddress,
    ComputerName: i.computerName,
    SourceId: i.id,
    SourceType: sourceType(i),
  }
}

function information(i: SimInstance) {
  return {
    ...shared(i),
    IsLatestVersion: i.agentVersion.startsWith('3.3.'),
    // Name is the activation's DefaultInstanceName, hybrid nodes only (§5)
    ...(i.ssmName ? { Name: i.ssmName } : {}),
  }
}

function properties(i: SimInstance) {
  return {
    // The model: "the value of the EC2 Name tag"; for hybrid nodes the sandbox gives the Name tag [U].
    Name: i.tags.get('Name') ?? '',
    ...shared(i),
    ...(i.instanceType ? { InstanceType: i.instanceType } : {}),
    ...(i.kind === 'ec2' ? { InstanceState: 'running', Architecture: 'arm64' } : {}),
    ...(i.availabilityZone ? { AvailabilityZone: i.availabilityZone } : {}),
  }
}

type Predicate = (i: SimInstance) => boolean

const filterKeys = [
  'InstanceIds',
  'AgentVersion',
  'PingStatus',
  'PlatformTypes',
  'ActivationIds',
  'IamRole',
  'ResourceType',
  'AssociationStatus',
]

function keyPredicate(key: string, values: string[], errorCode: string, state: SandboxState): Predicate {
  const has = (v: string | undefined) => v !== undefined && values.includes(v)
  switch (key) {
    case 'InstanceIds':
      for (const id of values) {
        if (!INSTANCE_ID.test(id) || !state.instances.has(id))
          throw awsError('InvalidInstanceId', `Instance Id ${id} is invalid or does not exist.`)
      }
      return (i) => has(i.id)
    case 'AgentVersion':
      return (i) => has(i.agentVersion)
    case 'PingStatus':
      for (const v of values) {
        if (!['Online', 'ConnectionLost', 'Inactive'].includes(v))
          throw awsError(errorCode, `Invalid filter value ${v} for PingStatus`)
      }
      return (i) => has(i.pingStatus)
    case 'PlatformTypes':
      return (i) => has(i.platformType)
    case 'ActivationIds':
      return (i) => has(i.activationId)
    case 'IamRole':
      return (i) => has(i.iamRole)
    case 'ResourceType':
      return (i) => has(i.resourceType)
    case 'AssociationStatus':
      return () => values.includes('Success')
    case 'SourceIds':
      return (i) => has(i.id)
    case 'SourceTypes':
      return (i) => has(sourceType(i))
    case 'tag-key':
      return (i) => values.some((v) => i.tags.has(v))
    default:
      if (key.startsWith('tag:')) {
        const tagKey = key.slice(4)
        return (i) => has(i.tags.get(tagKey))
      }
      throw awsError('InvalidFilterKey')
  }
}

interface FilterSpec {
  key: string
  values: string[]
}

function readFilters(
  body: Body,
  newKey: string,
  legacyKey: string,
  errorCode: string,
  maxValues: number,
): FilterSpec[] {
  const modern = body[newKey] as Array<{ Key?: string; Values?: string[] }> | undefined
  const legacy = body[legacyKey] as Array<{ key?: string; valueSet?: string[] }> | undefined
  if (modern && legacy) {
    // Documented as an error, code not documented (aws-api-notes.md §8.1): ValidationException [U]
    throw awsError('ValidationException', `You can't specify both ${newKey} and ${legacyKey}.`)
  }
  const specs: FilterSpec[] = []
  for (const f of modern ?? []) specs.push({ key: f.Key ?? '', values: f.Values ?? [] })
  for (const f of legacy ?? []) {
    if (!filterKeys.includes(f.key ?? '')) throw awsError('InvalidFilterKey')
    specs.push({ key: f.key ?? '', values: f.valueSet ?? [] })
  }
  for (const s of specs) {
    if (s.values.length < 1 || s.values.length > maxValues) {
      throw awsError(errorCode, `The filter ${s.key} must have between 1 and ${maxValues} values.`)
    }
  }
  const tagFilters = specs.filter((s) => s.key.startsWith('tag:') || s.key === 'tag-key')
  if (tagFilters.length > 0 && tagFilters.length < specs.length) {
    // "Tag filters cannot be combined with other filter types" (§2.1); code not documented [U]
    throw awsError('InvalidFilter', 'Tag filters cannot be combined with other filter types.')
  }
  return specs
}

export function describeInstanceInformation(state: SandboxState, body: Body, sparse: boolean) {
  new Checker(body).range('MaxResults', 5, 50).done()
  const filters = readFilters(
    body,
    'Filters',
    'InstanceInformationFilterList',
    'InvalidInstanceInformationFilterValue',
    100,
  )
  const predicates = filters.map((f) =>
    keyPredicate(f.key, f.values, 'InvalidInstanceInformationFilterValue', state),
  )
  const matches = (i: SimInstance) => predicates.every((p) => p(i))
  const size = (body.MaxResults as number | undefined) ?? 10
  const offset = decodeToken('DescribeInstanceInformation', body.NextToken)
  const all = [...state.instances.values()]
  if (sparse && predicates.length > 0) {
    // AWS cuts the page first and filters afterwards: short and even empty pages with a NextToken (§2.1)
    const p = page('DescribeInstanceInformation', all, offset, size)
    return {
      InstanceInformationList: p.items.filter(matches).map(information),
      ...(p.nextToken ? { NextToken: p.nextToken } : {}),
    }
  }
  const p = page('DescribeInstanceInformation', all.filter(matches), offset, size)
  return {
    InstanceInformationList: p.items.map(information),
    ...(p.nextToken ? { NextToken: p.nextToken } : {}),
  }
}

export function describeInstanceProperties(state: SandboxState, body: Body) {
  new Checker(body)
    .range('MaxResults', 5, 1000)
    .length('InstancePropertyFilterList', 1, 40)
    .length('FiltersWithOperator', 1, 40)
    .done()
  const withOperator = body.FiltersWithOperator as
    | Array<{ Key?: string; Values?: string[]; Operator?: string }>
    | undefined
  const filters = readFilters(
    {
      InstancePropertyFilterList: body.InstancePropertyFilterList,
      ...(withOperator ? { Filters: withOperator } : {}),
    },
    'Filters',
    'InstancePropertyFilterList',
    'InvalidInstancePropertyFilterValue',
    40,
  )
  const predicates = filters.map((f, index) => {
    const op = withOperator?.[index]?.Operator ?? 'Equal'
    const base = keyPredicate(f.key, f.values, 'InvalidInstancePropertyFilterValue', state)
    if (op === 'Equal') return base
    if (op === 'NotEqual') return (i: SimInstance) => !base(i)
    if (op === 'BeginWith' && f.key.startsWith('tag:')) {
      const tagKey = f.key.slice(4)
      return (i: SimInstance) => f.values.some((v) => (i.tags.get(tagKey) ?? '').startsWith(v))
    }
    throw awsError('InvalidInstancePropertyFilterValue', `Operator ${op} is not supported for ${f.key}`)
  })
  const size = (body.MaxResults as number | undefined) ?? 50
  const offset = decodeToken('DescribeInstanceProperties', body.NextToken)
  const all = [...state.instances.values()].filter((i) => predicates.every((p) => p(i)))
  const p = page('DescribeInstanceProperties', all, offset, size)
  return { InstanceProperties: p.items.map(properties), ...(p.nextToken ? { NextToken: p.nextToken } : {}) }
}

/**
 * Session Manager's view: a real agent is connected while it holds its control channel (a clone that
 * lost it is not, though its last ping says Online); a simulated one while it is Online.
 */
export function getConnectionStatus(
  state: SandboxState,
  body: Body,
  realConnected?: (instanceId: string) => boolean,
) {
  new Checker(body).required('Target').length('Target', 1, 400).done()
  const instance = state.instances.get(body.Target as string)
  const connected =
    instance?.agent === 'real' && realConnected
      ? realConnected(instance.id)
      : instance?.pingStatus === 'Online'
  return { Target: body.Target, Status: connected ? 'connected' : 'notconnected' }
}
