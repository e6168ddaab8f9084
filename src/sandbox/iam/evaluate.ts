// IAM's decision for one request (action, one resource, its context keys) under identity-based
// policies, as the IAM User Guide's evaluation logic says: an explicit Deny wins, then an Allow,
// else the implicit deny. Action names match case-insensitively, resource ARNs case-sensitively,
// both with * and ?; policy variables (${aws:username}, ${aws:userid}, ${aws:PrincipalTag/k}, the
// ${*} ${?} ${$} escapes, ${key, 'default'}) resolve from the request context in 2012-10-17 policies.
import { baseOperator, type ConditionClause, type Policy, type PolicyStatement } from './policy.ts'

export type Decision = 'allowed' | 'explicitDeny' | 'implicitDeny'

export interface AccessRequest {
  /** service:Operation, e.g. ssm:StartSession */
  action: string
  /** the resource's ARN, or * */
  resource: string
  /** context keys (any case) → values; a key that is absent is not in the request */
  context: Record<string, string[]>
}

export interface Evaluation {
  decision: Decision
  /** the statements that made the decision (only the denying ones on an explicit deny) */
  matched: Array<{ policy: Policy; statement: PolicyStatement }>
  /** condition keys the matching statements asked for that the request did not carry */
  missing: string[]
}

function lowerKeys(context: Record<string, string[]>): Map<string, string[]> {
  return new Map(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]))
}

const UNRESOLVED = Symbol('unresolved')

interface Rendering {
  /** the policy's own text between variables */
  text(s: string): string
  /** a variable's value, or an escaped ${*} ${?} ${$}: always literal */
  value(s: string): string
}

const plain: Rendering = { text: (s) => s, value: (s) => s }
const regexLiteral = (s: string) => s.replace(/[.+^${}()|[\]\\*?]/g, (c) => `\\${c}`)
const wildcards: Rendering = {
  text: (s) => s.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`)),
  value: regexLiteral,
}

/** Replaces ${…} variables; UNRESOLVED when one names a key the request lacks and has no default. */
function substitute(
  text: string,
  context: Map<string, string[]>,
  version: string,
  r: Rendering,
): string | typeof UNRESOLVED {
  // policy variables exist from version 2012-10-17 on; before, ${…} is plain text
  if (version !== '2012-10-17') return r.text(text)
  let unresolved = false
  let out = ''
  let last = 0
  for (const m of text.matchAll(/\$\{([^}]*)\}/g)) {
    out += r.text(text.slice(last, m.index))
    last = (m.index ?? 0) + m[0].length
    const inner = (m[1] ?? '').trim()
    if (inner === '*' || inner === '?' || inner === '$') {
      out += r.value(inner)
      continue
    }
    const d = /^([^,]+?)\s*,\s*'([^']*)'$/.exec(inner)
    const key = (d ? (d[1] as string) : inner).toLowerCase()
    const value = context.get(key)?.[0] ?? (d ? d[2] : undefined)
    if (value === undefined) unresolved = true
    else out += r.value(value)
  }
  out += r.text(text.slice(last))
  return unresolved ? UNRESOLVED : out
}

/** A pattern with wildcards and variables → a RegExp; undefined when a variable cannot resolve. */
function patternOf(pattern: string, context: Map<string, string[]>, version: string): RegExp | undefined {
  const body = substitute(pattern, context, version, wildcards)
  return body === UNRESOLVED ? undefined : new RegExp(`^${body}$`, 's')
}

function matchesAction(patterns: string[], action: string): boolean {
  return patterns.some((p) => new RegExp(`^${wildcards.text(p)}$`, 'si').test(action))
}

function matchesResource(
  patterns: string[],
  resource: string,
  context: Map<string, string[]>,
  version: string,
): boolean {
  // A resource of * (an action without resource types) matches every Resource element
  if (resource === '*') return true
  return patterns.some((p) => patternOf(p, context, version)?.test(resource) ?? false)
}

const NEGATED =
  /^(StringNotEquals|StringNotEqualsIgnoreCase|StringNotLike|ArnNotEquals|ArnNotLike|NumericNotEquals)$/

/** One request value against one policy value under a (non-negated) operator. */
function valueMatches(
  base: string,
  requestValue: string,
  policyValue: string,
  c: Map<string, string[]>,
  v: string,
): boolean {
  switch (base) {
    case 'StringEquals':
    case 'StringNotEquals': {
      const want = substitute(policyValue, c, v, plain)
      return want !== UNRESOLVED && requestValue === want
    }
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase': {
      const want = substitute(policyValue, c, v, plain)
      return want !== UNRESOLVED && requestValue.toLowerCase() === want.toLowerCase()
    }
    case 'StringLike':
    case 'StringNotLike':
    case 'ArnLike':
    case 'ArnNotLike':
    case 'ArnEquals':
    case 'ArnNotEquals':
      return patternOf(policyValue, c, v)?.test(requestValue) ?? false
    case 'Bool':
      return requestValue.toLowerCase() === policyValue.toLowerCase()
    default: {
      const a = Number(requestValue)
      const b = Number(policyValue)
      if (Number.isNaN(a) || Number.isNaN(b)) return false
      if (base.startsWith('NumericEquals') || base === 'NumericNotEquals') return a === b
      if (base === 'NumericLessThan') return a < b
      if (base === 'NumericLessThanEquals') return a <= b
      if (base === 'NumericGreaterThan') return a > b
      return a >= b
    }
  }
}

function conditionHolds(
  clause: ConditionClause,
  context: Map<string, string[]>,
  version: string,
  missing: Set<string>,
): boolean {
  const { base, ifExists, set } = baseOperator(clause.operator)
  const values = context.get(clause.key.toLowerCase())
  if (base === 'Null') {
    const absent = values === undefined || values.length === 0
    return clause.values.some((want) => (want.toLowerCase() === 'true') === absent)
  }
  const negated = NEGATED.test(base)
  if (values === undefined || values.length === 0) {
    // …IfExists keys are optional by design: only the others are "missing context values"
    if (!ifExists) missing.add(clause.key)
    if (set === 'ForAllValues') return true
    if (set === 'ForAnyValue') return false
    return ifExists || negated
  }
  const anyMatch = (value: string) =>
    clause.values.some((p) => valueMatches(base, value, p, context, version))
  if (set === 'ForAllValues') return values.every((value) => (negated ? !anyMatch(value) : anyMatch(value)))
  if (negated) return !values.some(anyMatch)
  return values.some(anyMatch)
}

function statementApplies(
  s: PolicyStatement,
  request: AccessRequest,
  context: Map<string, string[]>,
  version: string,
  missing: Set<string>,
): boolean {
  const actionOk = s.action
    ? matchesAction(s.action, request.action)
    : !matchesAction(s.notAction ?? [], request.action)
  if (!actionOk) return false
  const resourceOk = s.resource
    ? matchesResource(s.resource, request.resource, context, version)
    : !matchesResource(s.notResource ?? [], request.resource, context, version)
  if (!resourceOk) return false
  let ok = true
  for (const clause of s.conditions) if (!conditionHolds(clause, context, version, missing)) ok = false
  return ok
}

export function evaluate(policies: Policy[], request: AccessRequest): Evaluation {
  const context = lowerKeys(request.context)
  const missing = new Set<string>()
  const allows: Evaluation['matched'] = []
  const denies: Evaluation['matched'] = []
  for (const policy of policies) {
    for (const statement of policy.statements) {
      if (!statementApplies(statement, request, context, policy.version, missing)) continue
      ;(statement.effect === 'Deny' ? denies : allows).push({ policy, statement })
    }
  }
  const decision: Decision =
    denies.length > 0 ? 'explicitDeny' : allows.length > 0 ? 'allowed' : 'implicitDeny'
  return {
    decision,
    matched: decision === 'explicitDeny' ? denies : decision === 'allowed' ? allows : [],
    missing: [...missing],
  }
}
