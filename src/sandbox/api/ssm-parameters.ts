// Parameter Store: PutParameter, GetParameter, GetParameters, GetParameterHistory, DeleteParameter,
// DescribeParameters — what `activation ensure` keeps its activation and its lock in.
// Error texts are the ones real replies carry (quoted in public issue threads: aws-cli, terraform,
// localstack, moto); the ones marked [U] in comments are our best wording where none was found.
import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import type { Principal } from '../credentials.ts'
import type { SandboxState, SimParameter, SimParameterVersion } from '../model.ts'
import { ApiError } from './errors.ts'
import { decodeToken, page } from './pagination.ts'
import { tagMap } from './tag-list.ts'
import { type Body, Checker } from './validate.ts'

/** Parameter Store keeps the 100 newest versions of a name and drops the oldest unlabelled one. */
export const MAX_VERSIONS = 100
const MAX_DEPTH = 15
const STANDARD_VALUE_MAX = 4096
const ADVANCED_VALUE_MAX = 8192
const TYPES = ['String', 'StringList', 'SecureString']
const TIERS = ['Standard', 'Advanced', 'Intelligent-Tiering']

// The one message AWS gives for any malformed name, whatever is wrong with it (boto3#1499)
const BAD_NAME =
  'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_'

/** Parameter Store errors carry their text in lower-case `message` (the SDK's error schemas). */
function storeError(code: string, message?: string): ApiError {
  return message === undefined
    ? new ApiError(code, '', 400, null)
    : new ApiError(code, message, 400, 'message')
}

const validation = (message: string) => new ApiError('ValidationException', message, 400)

/** Name rules of PutParameter's model text; the same checks guard the read operations. */
export function checkParameterName(name: string): void {
  const bare = name.startsWith('/') ? name.slice(1) : name
  // reserved prefixes: AWS's own parameters live under /aws/… (quota-monitor-for-aws#30)
  if (/^aws/i.test(bare))
    throw new ApiError('AccessDeniedException', `No access to reserved parameter name: ${name}.`)
  if (/^ssm/i.test(bare)) throw validation(BAD_NAME)
  if (name.includes('/') && !name.startsWith('/'))
    // [U] the wording AWS uses for "a/b"
    throw validation('Parameter name must be a fully qualified name.')
  const parts = bare.split('/')
  if (parts.some((p) => !/^[a-zA-Z0-9_.-]+$/.test(p))) throw validation(BAD_NAME)
  if (parts.length > MAX_DEPTH)
    // [U]
    throw storeError(
      'HierarchyLevelLimitExceededException',
      `A hierarchy can have a maximum of ${MAX_DEPTH} levels.`,
    )
}

function checkName(body: Body, member = 'Name'): string {
  new Checker(body).required(member).length(member, 1, 2048).done()
  if (typeof body[member] !== 'string') throw validation(BAD_NAME)
  const name = body[member] as string
  checkParameterName(name)
  return name
}

/** "name" or "name:3" (a version selector); labels are not kept by the sandbox. */
function parseSelector(raw: string): { name: string; version?: number } {
  const m = /^(.*):(\d+)$/.exec(raw)
  return m ? { name: m[1] as string, version: Number(m[2]) } : { name: raw }
}

function arnOf(state: SandboxState, name: string): string {
  return `arn:aws:ssm:${state.region}:${state.accountId}:parameter/${name.replace(/^\//, '')}`
}

// SecureString values at rest: AES-GCM under a key that lives as long as the sandbox, shaped like
// a KMS ciphertext blob (base64 starting "AQICAH…"), so a caller that forgets WithDecryption gets
// an opaque string rather than the secret — as GetParameter answers on AWS.
const kmsKey = randomBytes(32)
function encrypt(value: string, keyId: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', kmsKey, iv)
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()])
  const header = Buffer.from([0x01, 0x02, 0x02, 0x00, 0x78])
  const keyTag = createHash('sha256').update(keyId).digest().subarray(0, 32)
  return Buffer.concat([header, keyTag, iv, body, cipher.getAuthTag()]).toString('base64')
}

function current(parameter: SimParameter): SimParameterVersion {
  return parameter.versions[parameter.versions.length - 1] as SimParameterVersion
}

function shownValue(parameter: SimParameter, version: SimParameterVersion, decrypt: boolean): string {
  return parameter.type === 'SecureString' && !decrypt ? (version.ciphertext as string) : version.value
}

function parameterView(
  state: SandboxState,
  p: SimParameter,
  v: SimParameterVersion,
  decrypt: boolean,
  selector?: string,
) {
  return {
    Name: p.name,
    Type: p.type,
    Value: shownValue(p, v, decrypt),
    Version: v.version,
    ...(selector ? { Selector: selector } : {}),
    LastModifiedDate: v.lastModifiedDate.getTime() / 1000,
    ARN: arnOf(state, p.name),
    DataType: p.dataType,
  }
}

function checkTags(tags: unknown): Map<string, string> {
  const out = tagMap(tags)
  if (out.size > 50) throw new ApiError('TooManyTagsError', '', 400, null)
  return out
}

export function putParameter(state: SandboxState, body: Body, caller: Principal) {
  new Checker(body)
    .required('Value')
    .length('Description', 0, 1024)
    .length('KeyId', 1, 256)
    .oneOf('Type', TYPES)
    .oneOf('Tier', TIERS)
    .done()
  const name = checkName(body)
  const overwrite = body.Overwrite === true
  if (overwrite && body.Tags !== undefined)
    throw validation(
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
    )
  const existing = state.parameters.get(name)
  if (existing && !overwrite)
    throw storeError(
      'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
    )
  // checked before anything changes: a refused put leaves the parameter as it was
  const oldest = existing && existing.versions.length >= MAX_VERSIONS ? existing.versions[0] : undefined
  if (oldest && oldest.labels.length > 0)
    throw storeError(
      'ParameterMaxVersionLimitExceeded',
      `You attempted to create a new version of ${name} by calling the PutParameter API with the overwrite flag. Version ${oldest.version}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.`,
    )
  const type = (body.Type as SimParameter['type'] | undefined) ?? existing?.type
  // [U] wording
  if (!type) throw validation('A parameter type is required when you create a parameter.')
  if (body.KeyId !== undefined && type !== 'SecureString')
    throw validation('KeyId is required for SecureString type parameter only.')
  // a parameter never leaves the advanced tier; Intelligent-Tiering picks advanced only when needed
  const value = String(body.Value)
  const tier: SimParameter['tier'] =
    body.Tier === 'Advanced' ||
    existing?.tier === 'Advanced' ||
    (body.Tier === 'Intelligent-Tiering' && value.length > STANDARD_VALUE_MAX)
      ? 'Advanced'
      : 'Standard'
  if (value.length > (tier === 'Advanced' ? ADVANCED_VALUE_MAX : STANDARD_VALUE_MAX))
    // [U] wording
    throw validation(
      tier === 'Advanced'
        ? `Advanced tier parameters support a maximum parameter value of ${ADVANCED_VALUE_MAX} characters.`
        : `Standard tier parameters support a maximum parameter value of ${STANDARD_VALUE_MAX} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.`,
    )
  const tags = existing ? existing.tags : checkTags(body.Tags)
  const parameter: SimParameter = existing ?? {
    name,
    type,
    tier,
    dataType: typeof body.DataType === 'string' ? body.DataType : 'text',
    versions: [],
    tags,
  }
  parameter.type = type
  parameter.tier = tier
  const keyId =
    type === 'SecureString'
      ? ((body.KeyId as string | undefined) ?? parameter.keyId ?? 'alias/aws/ssm')
      : undefined
  if (keyId) parameter.keyId = keyId
  else delete parameter.keyId
  if (typeof body.Description === 'string') parameter.description = body.Description
  const last = parameter.versions[parameter.versions.length - 1]
  const version: SimParameterVersion = {
    version: (last?.version ?? 0) + 1,
    value,
    ...(keyId ? { ciphertext: encrypt(value, keyId) } : {}),
    ...(parameter.description !== undefined ? { description: parameter.description } : {}),
    lastModifiedDate: state.now(),
    lastModifiedUser: caller.arn,
    labels: [],
  }
  if (parameter.versions.length >= MAX_VERSIONS) parameter.versions.shift()
  parameter.versions.push(version)
  state.parameters.set(name, parameter)
  return { Version: version.version, Tier: parameter.tier }
}

function find(
  state: SandboxState,
  raw: string,
): { p: SimParameter; v: SimParameterVersion; selector?: string } {
  const { name, version } = parseSelector(raw)
  checkParameterName(name)
  const p = state.parameters.get(name)
  if (!p) throw storeError('ParameterNotFound')
  if (version === undefined) return { p, v: current(p) }
  const v = p.versions.find((x) => x.version === version)
  // [U] wording
  if (!v)
    throw storeError(
      'ParameterVersionNotFound',
      `Systems Manager could not find version ${version} of ${name}. Verify the version and try again.`,
    )
  return { p, v, selector: `:${version}` }
}

export function getParameter(state: SandboxState, body: Body) {
  new Checker(body).required('Name').length('Name', 1, 2048).done()
  const { p, v, selector } = find(state, String(body.Name))
  return { Parameter: parameterView(state, p, v, body.WithDecryption === true, selector) }
}

export function getParameters(state: SandboxState, body: Body) {
  new Checker(body).required('Names').length('Names', 1, 10).done()
  const found: unknown[] = []
  const invalid: string[] = []
  for (const raw of body.Names as unknown[]) {
    try {
      const { p, v, selector } = find(state, String(raw))
      found.push(parameterView(state, p, v, body.WithDecryption === true, selector))
    } catch (error) {
      if (
        error instanceof ApiError &&
        (error.code === 'ParameterNotFound' || error.code === 'ParameterVersionNotFound')
      )
        invalid.push(String(raw))
      else throw error
    }
  }
  return { Parameters: found, InvalidParameters: invalid }
}

export function deleteParameter(state: SandboxState, body: Body) {
  const name = checkName(body)
  if (!state.parameters.delete(name)) throw storeError('ParameterNotFound')
  return {}
}

export function getParameterHistory(state: SandboxState, body: Body) {
  new Checker(body).range('MaxResults', 1, 50).done()
  const name = checkName(body)
  const p = state.parameters.get(name)
  if (!p) throw storeError('ParameterNotFound')
  const decrypt = body.WithDecryption === true
  const offset = decodeToken('GetParameterHistory', body.NextToken)
  const rows = p.versions.map((v) => ({
    Name: p.name,
    Type: p.type,
    ...(p.keyId ? { KeyId: p.keyId } : {}),
    LastModifiedDate: v.lastModifiedDate.getTime() / 1000,
    LastModifiedUser: v.lastModifiedUser,
    ...(v.description !== undefined ? { Description: v.description } : {}),
    Value: shownValue(p, v, decrypt),
    Version: v.version,
    Labels: v.labels,
    Tier: p.tier,
    Policies: [],
    DataType: p.dataType,
  }))
  const { items, nextToken } = page(
    'GetParameterHistory',
    rows,
    offset,
    (body.MaxResults as number | undefined) ?? 50,
  )
  return { Parameters: items, ...(nextToken ? { NextToken: nextToken } : {}) }
}

/** DescribeParameters with the `Name` filter (Equals / BeginsWith) — the one ssm-ssh has use for. */
export function describeParameters(state: SandboxState, body: Body) {
  new Checker(body).range('MaxResults', 1, 50).done()
  const filters = (body.ParameterFilters ?? []) as Array<{ Key?: string; Option?: string; Values?: string[] }>
  for (const f of filters) if (f.Key !== 'Name') throw storeError('InvalidFilterKey')
  const all = [...state.parameters.values()]
    .filter((p) =>
      filters.every((f) =>
        (f.Values ?? []).some((v) => (f.Option === 'BeginsWith' ? p.name.startsWith(v) : p.name === v)),
      ),
    )
    .sort((a, b) => a.name.localeCompare(b.name))
  const offset = decodeToken('DescribeParameters', body.NextToken)
  const { items, nextToken } = page(
    'DescribeParameters',
    all,
    offset,
    (body.MaxResults as number | undefined) ?? 50,
  )
  return {
    Parameters: items.map((p) => {
      const v = current(p)
      return {
        Name: p.name,
        ARN: arnOf(state, p.name),
        Type: p.type,
        ...(p.keyId ? { KeyId: p.keyId } : {}),
        LastModifiedDate: v.lastModifiedDate.getTime() / 1000,
        LastModifiedUser: v.lastModifiedUser,
        ...(p.description !== undefined ? { Description: p.description } : {}),
        Version: v.version,
        Tier: p.tier,
        Policies: [],
        DataType: p.dataType,
      }
    }),
    ...(nextToken ? { NextToken: nextToken } : {}),
  }
}

/**
 * LabelParameterVersion: labels move to the version named (the current one by default); a label
 * that breaks the rules (starts with aws/ssm or a digit, other characters than a-zA-Z0-9_.-) comes
 * back in InvalidLabels. A labelled oldest version is what stops PutParameter at 100 versions.
 */
export function labelParameterVersion(state: SandboxState, body: Body) {
  new Checker(body).required('Labels').length('Labels', 1, 10).done()
  const name = checkName(body)
  const p = state.parameters.get(name)
  if (!p) throw storeError('ParameterNotFound')
  const wanted = body.ParameterVersion === undefined ? current(p).version : Number(body.ParameterVersion)
  const target = p.versions.find((v) => v.version === wanted)
  if (!target)
    throw storeError(
      'ParameterVersionNotFound',
      `Systems Manager could not find version ${wanted} of ${name}. Verify the version and try again.`,
    )
  const labels = (body.Labels as unknown[]).map(String)
  const invalid = labels.filter((l) => !/^[a-zA-Z_.-][a-zA-Z0-9_.-]{0,99}$/.test(l) || /^(aws|ssm)/i.test(l))
  const valid = labels.filter((l) => !invalid.includes(l))
  if (new Set([...target.labels, ...valid]).size > 10)
    throw storeError(
      'ParameterVersionLabelLimitExceeded',
      'A parameter version can have a maximum of ten labels. Move one or more labels to another version and try again.',
    )
  for (const v of p.versions) v.labels = v.labels.filter((l) => !valid.includes(l))
  target.labels = [...new Set([...target.labels, ...valid])]
  return { InvalidLabels: invalid, ParameterVersion: target.version }
}
