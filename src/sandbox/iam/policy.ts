// IAM identity-based policy documents: parsed and validated the way IAM does before it stores one
// (Version, Effect, exactly one of Action/NotAction and of Resource/NotResource, no Principal, known
// condition operators), each statement with where it sits in the text — SimulatePrincipalPolicy
// names matched statements by line and column.

export interface Position {
  line: number
  column: number
}

export interface ConditionClause {
  /** as written: StringEquals, ForAnyValue:StringLike, BoolIfExists … */
  operator: string
  key: string
  values: string[]
}

export interface PolicyStatement {
  sid?: string
  effect: 'Allow' | 'Deny'
  action?: string[]
  notAction?: string[]
  resource?: string[]
  notResource?: string[]
  conditions: ConditionClause[]
  start: Position
  end: Position
}

export interface Policy {
  /** the name SimulatePrincipalPolicy gives as SourcePolicyId */
  id: string
  version: string
  statements: PolicyStatement[]
  text: string
}

/** IAM's MalformedPolicyDocument: the message says what is wrong. */
export class PolicyError extends Error {}

const OPERATORS = new Set([
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Bool',
  'Null',
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
])

/** The operator without its ForAnyValue:/ForAllValues: prefix and IfExists suffix. */
export function baseOperator(operator: string): {
  base: string
  ifExists: boolean
  set?: 'ForAnyValue' | 'ForAllValues'
} {
  const m = /^(?:(ForAnyValue|ForAllValues):)?(.+?)(IfExists)?$/.exec(operator)
  const base = m?.[2] ?? operator
  return {
    base,
    ifExists: m?.[3] !== undefined && base !== 'Null',
    ...(m?.[1] ? { set: m[1] as 'ForAnyValue' | 'ForAllValues' } : {}),
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function stringList(value: unknown, what: string): string[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0) throw new PolicyError(`${what} must not be empty`)
  return list.map((v) => {
    if (typeof v === 'string') return v
    if (typeof v === 'boolean' || typeof v === 'number') return String(v)
    throw new PolicyError(`${what} must be a string or a list of strings`)
  })
}

function parseConditions(value: unknown): ConditionClause[] {
  if (value === undefined) return []
  if (!isObject(value)) throw new PolicyError('Condition must be an object of operators')
  const out: ConditionClause[] = []
  for (const [operator, block] of Object.entries(value)) {
    const { base } = baseOperator(operator)
    if (!OPERATORS.has(base)) throw new PolicyError(`Condition operator ${operator} is not supported`)
    if (!isObject(block)) throw new PolicyError(`Condition ${operator} must map keys to values`)
    for (const [key, values] of Object.entries(block)) {
      out.push({ operator, key, values: stringList(values, `Condition ${operator} ${key}`) })
    }
  }
  return out
}

function parseStatement(raw: unknown, span: { start: Position; end: Position }): PolicyStatement {
  if (!isObject(raw)) throw new PolicyError('each Statement must be an object')
  if ('Principal' in raw || 'NotPrincipal' in raw)
    throw new PolicyError('Policy document should not specify a principal.')
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny')
    throw new PolicyError('Effect must be "Allow" or "Deny"')
  const one = (a: string, b: string) => {
    if (a in raw === b in raw) throw new PolicyError(`each statement needs exactly one of ${a} and ${b}`)
    return a in raw ? { [a]: stringList(raw[a], a) } : { [b]: stringList(raw[b], b) }
  }
  const actions = one('Action', 'NotAction')
  const resources = one('Resource', 'NotResource')
  for (const a of [...(actions.Action ?? []), ...(actions.NotAction ?? [])]) {
    if (a !== '*' && !/^[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+$/.test(a))
      throw new PolicyError(`Action ${a} is not service:Operation`)
  }
  return {
    ...(typeof raw.Sid === 'string' ? { sid: raw.Sid } : {}),
    effect: raw.Effect,
    ...(actions.Action ? { action: actions.Action } : { notAction: actions.NotAction as string[] }),
    ...(resources.Resource
      ? { resource: resources.Resource }
      : { notResource: resources.NotResource as string[] }),
    conditions: parseConditions(raw.Condition),
    ...span,
  }
}

/** Where each element of the top-level "Statement" array starts and ends (1-based line and column). */
function statementSpans(text: string): Array<{ start: Position; end: Position }> {
  const spans: Array<{ start: Position; end: Position }> = []
  let line = 1
  let column = 0
  let depth = 0
  let inString = false
  let lastKey = ''
  let token = ''
  let statementDepth = -1
  let start: Position | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    column++
    if (c === '\n') {
      line++
      column = 0
    }
    if (inString) {
      if (c === '\\') {
        token += text[++i] ?? ''
        column++
      } else if (c === '"') inString = false
      else token += c
      continue
    }
    if (c === '"') {
      inString = true
      token = ''
    } else if (c === ':') lastKey = token
    else if (c === '{' || c === '[') {
      if (depth === 1 && lastKey === 'Statement') statementDepth = depth + (c === '[' ? 1 : 0)
      if (depth === statementDepth && c === '{' && statementDepth >= 1) start = { line, column }
      depth++
    } else if (c === '}' || c === ']') {
      depth--
      if (depth === statementDepth && c === '}' && start) {
        spans.push({ start, end: { line, column: column + 1 } })
        start = undefined
      }
      if (depth < statementDepth) statementDepth = -1
    }
  }
  return spans
}

/** Parses and validates an identity-based policy (JSON text); throws PolicyError. */
export function parsePolicy(text: string, id = 'sandbox-user-policy'): Policy {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    throw new PolicyError(`the policy is not JSON: ${(error as Error).message}`)
  }
  if (!isObject(doc)) throw new PolicyError('the policy must be a JSON object')
  const version = doc.Version ?? '2008-10-17'
  if (version !== '2012-10-17' && version !== '2008-10-17')
    throw new PolicyError(`The policy failed legacy parsing: Version ${String(version)} is not 2012-10-17`)
  if (doc.Statement === undefined) throw new PolicyError('Missing required field Statement')
  const raws = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]
  const spans = statementSpans(text)
  const none = { start: { line: 1, column: 1 }, end: { line: 1, column: 1 } }
  return {
    id,
    version: version as string,
    statements: raws.map((raw, i) => parseStatement(raw, spans[i] ?? none)),
    text,
  }
}
