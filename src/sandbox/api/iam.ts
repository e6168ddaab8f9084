// IAM (Query protocol, XML, global endpoint signed for us-east-1): SimulatePrincipalPolicy for the
// policy the sandbox holds for its caller's users, and GetUser. Shapes from @aws-sdk/client-iam
// 3.1169.0's model: one EvaluationResult per action, each resource's own decision in
// ResourceSpecificResults (the top level takes the strictest), MatchedStatements with the
// statement's line and column, MissingContextValues, paging by MaxItems (1–1000, default 100) and
// Marker with IsTruncated. The simulator reads condition keys only from ContextEntries (it looks up
// no tags); the simulated user's own keys (aws:username, aws:userid …) are filled in.
import type { IssuedCredential, Principal } from '../credentials.ts'
import { principalContext } from '../iam/authorize.ts'
import { type Decision, type Evaluation, evaluate } from '../iam/evaluate.ts'
import { type Policy, parsePolicy } from '../iam/policy.ts'
import type { SandboxState } from '../model.ts'
import { accessOf, authorizeCaller } from './access.ts'
import { ApiError, xmlEscape } from './errors.ts'

const NS = 'https://iam.amazonaws.com/doc/2010-05-08/'

/** Query lists: Name.member.1, Name.member.2 … */
function members(form: URLSearchParams, prefix: string): string[] {
  const out: string[] = []
  for (let i = 1; form.has(`${prefix}.member.${i}`); i++)
    out.push(form.get(`${prefix}.member.${i}`) as string)
  return out
}

const invalid = (message: string) => new ApiError('InvalidInput', message, 400)

function userByArn(state: SandboxState, arn: string): Principal {
  if (!/^arn:aws:iam::\d{12}:(user|role|group)\/.+$/.test(arn)) throw invalid(`ARN ${arn} is not valid.`)
  const known = [...state.credentials.values()].find(
    (c) => c.principal.kind === 'caller' && c.principal.arn === arn,
  )
  if (!known) {
    throw new ApiError(
      'NoSuchEntity',
      `The user with name ${arn.slice(arn.lastIndexOf('/') + 1)} cannot be found.`,
      404,
    )
  }
  return known.principal
}

function contextEntries(form: URLSearchParams): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (let i = 1; form.has(`ContextEntries.member.${i}.ContextKeyName`); i++) {
    const p = `ContextEntries.member.${i}`
    const name = form.get(`${p}.ContextKeyName`) as string
    if (!form.has(`${p}.ContextKeyType`)) throw invalid(`ContextKeyType is required for ${name}`)
    out[name] = members(form, `${p}.ContextKeyValues`)
  }
  return out
}

const strictest = (decisions: Decision[]): Decision =>
  decisions.includes('explicitDeny')
    ? 'explicitDeny'
    : decisions.includes('implicitDeny')
      ? 'implicitDeny'
      : 'allowed'

function statementsXml(matched: Evaluation['matched']): string {
  const seen = new Set<string>()
  let xml = ''
  for (const { policy, statement } of matched) {
    const key = `${policy.id}:${statement.start.line}:${statement.start.column}`
    if (seen.has(key)) continue
    seen.add(key)
    xml +=
      `<member><SourcePolicyId>${xmlEscape(policy.id)}</SourcePolicyId><SourcePolicyType>user</SourcePolicyType>` +
      `<StartPosition><Line>${statement.start.line}</Line><Column>${statement.start.column}</Column></StartPosition>` +
      `<EndPosition><Line>${statement.end.line}</Line><Column>${statement.end.column}</Column></EndPosition></member>`
  }
  return `<MatchedStatements>${xml}</MatchedStatements>`
}

const missingXml = (keys: string[]) =>
  `<MissingContextValues>${[...new Set(keys)].map((k) => `<member>${xmlEscape(k)}</member>`).join('')}</MissingContextValues>`

function simulate(state: SandboxState, form: URLSearchParams, requestId: string): string {
  const source = form.get('PolicySourceArn')
  const actions = members(form, 'ActionNames')
  if (!source) throw invalid('PolicySourceArn is required')
  if (actions.length === 0) throw invalid('ActionNames must contain at least one action')
  const principal = userByArn(state, source)
  const resources = members(form, 'ResourceArns')
  const maxText = form.get('MaxItems')
  const max = maxText === null ? 100 : Number(maxText)
  if (!Number.isInteger(max) || max < 1 || max > 1000)
    throw new ApiError(
      'ValidationError',
      `1 validation error detected: Value '${maxText}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000`,
      400,
    )
  const marker = form.get('Marker')
  const offset =
    marker === null ? 0 : Number(Buffer.from(marker, 'base64url').toString('utf8').replace(/^sim:/, ''))
  if (!Number.isInteger(offset) || offset < 0 || offset > actions.length) throw invalid('Invalid Marker.')
  // without a policy of its own the caller may do everything, as with AdministratorAccess
  const policies: Policy[] = [state.callerPolicy ?? administratorAccess()]
  const context = { ...principalContext(principal, state.accountId), ...contextEntries(form) }
  const page = actions.slice(offset, offset + max)
  const results = page.map((action) => {
    const perResource = (resources.length ? resources : ['*']).map((resource) => ({
      resource,
      result: evaluate(policies, { action, resource, context }),
    }))
    const decision = strictest(perResource.map((r) => r.result.decision))
    const matched = perResource.flatMap((r) => (r.result.decision === decision ? r.result.matched : []))
    const specific = resources.length
      ? `<ResourceSpecificResults>${perResource
          .map(
            (r) =>
              `<member><EvalResourceName>${xmlEscape(r.resource)}</EvalResourceName><EvalResourceDecision>${r.result.decision}</EvalResourceDecision>${statementsXml(r.result.matched)}${missingXml(r.result.missing)}</member>`,
          )
          .join('')}</ResourceSpecificResults>`
      : ''
    return (
      `<member><EvalActionName>${xmlEscape(action)}</EvalActionName>` +
      `<EvalResourceName>${xmlEscape(resources.length === 1 ? (resources[0] as string) : '*')}</EvalResourceName>` +
      `<EvalDecision>${decision}</EvalDecision>${statementsXml(matched)}` +
      `${resources.length ? '<MissingContextValues/>' : missingXml(perResource.flatMap((r) => r.result.missing))}` +
      `${specific}</member>`
    )
  })
  const next = offset + page.length
  const truncated = next < actions.length
  return (
    `<SimulatePrincipalPolicyResponse xmlns="${NS}"><SimulatePrincipalPolicyResult>` +
    `<IsTruncated>${truncated}</IsTruncated>${truncated ? `<Marker>${Buffer.from(`sim:${next}`).toString('base64url')}</Marker>` : ''}` +
    `<EvaluationResults>${results.join('')}</EvaluationResults></SimulatePrincipalPolicyResult>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>`
  )
}

function getUser(state: SandboxState, form: URLSearchParams, caller: Principal, requestId: string): string {
  const name = form.get('UserName') ?? caller.userName
  if (!name)
    throw new ApiError('ValidationError', 'Must specify userName when calling with non-User credentials', 400)
  const user = [...state.credentials.values()].find(
    (c) => c.principal.kind === 'caller' && c.principal.userName === name,
  )?.principal
  if (!user) throw new ApiError('NoSuchEntity', `The user with name ${name} cannot be found.`, 404)
  return (
    `<GetUserResponse xmlns="${NS}"><GetUserResult><User><Path>/</Path><UserName>${xmlEscape(name)}</UserName>` +
    `<UserId>${xmlEscape(user.userId)}</UserId><Arn>${xmlEscape(user.arn)}</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></User>` +
    `</GetUserResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetUserResponse>`
  )
}

/** The resource IAM authorises each operation on: the user it is about. */
function userArnOf(state: SandboxState, form: URLSearchParams, operation: string, caller: Principal): string {
  if (operation === 'SimulatePrincipalPolicy') return form.get('PolicySourceArn') ?? '*'
  const name = form.get('UserName') ?? caller.userName
  return name ? `arn:aws:iam::${state.accountId}:user/${name}` : '*'
}

export function handleIam(
  state: SandboxState,
  form: URLSearchParams,
  caller: IssuedCredential,
  requestId: string,
): string {
  const operation = form.get('Action') ?? ''
  if (operation !== 'SimulatePrincipalPolicy' && operation !== 'GetUser')
    throw new ApiError('InvalidAction', `Could not find operation ${operation} for version 2010-05-08`, 400)
  const access = accessOf(undefined, 'iam', operation, state, {})
  access.resources = [{ arn: userArnOf(state, form, operation, caller.principal) }]
  authorizeCaller(state, caller, 'iam', access)
  return operation === 'GetUser'
    ? getUser(state, form, caller.principal, requestId)
    : simulate(state, form, requestId)
}

/** IAM's error shape: ErrorResponse/Error/{Type, Code, Message}, as STS's. */
export function iamErrorXml(error: ApiError, requestId: string): string {
  return `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>\n`
}

let admin: Policy | undefined
/** AWS's AdministratorAccess: what a sandbox caller without --iam-policy holds. */
function administratorAccess(): Policy {
  admin ??= parsePolicy(
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
    'AdministratorAccess',
  )
  return admin
}
