// Authorising one API call of a principal: every resource the operation touches is evaluated on
// its own (with that resource's tags as context) and all must be allowed, as IAM does for calls
// with several resources (StartSession: the instance and the document). Principal keys come from
// who signed: aws:username (IAM users only), aws:userid, aws:PrincipalArn, aws:PrincipalType.
import type { Principal } from '../credentials.ts'
import { type Decision, evaluate } from './evaluate.ts'
import type { Policy } from './policy.ts'

export interface AccessResource {
  /** the ARN IAM authorises, or * for actions without resource types */
  arn: string
  /** keys that belong to this resource: ssm:resourceTag/…, aws:ResourceTag/… */
  context?: Record<string, string[]>
}

/** What an operation asks IAM for: its action, the resources it touches, request keys. */
export interface Access {
  action: string
  resources: AccessResource[]
  context?: Record<string, string[]>
}

export interface Denial {
  action: string
  resource: string
  decision: Exclude<Decision, 'allowed'>
}

export function principalContext(principal: Principal, accountId: string): Record<string, string[]> {
  const assumed = principal.arn.includes(':assumed-role/')
  return {
    'aws:userid': [principal.userId],
    'aws:PrincipalArn': [principal.arn],
    'aws:PrincipalAccount': [accountId],
    'aws:PrincipalType': [assumed ? 'AssumedRole' : 'User'],
    ...(principal.userName ? { 'aws:username': [principal.userName] } : {}),
  }
}

/** The tag keys IAM offers for a tagged resource, under each prefix given. */
export function tagContext(
  tags: Map<string, string> | undefined,
  prefixes: string[],
): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [key, value] of tags ?? []) for (const p of prefixes) out[`${p}/${key}`] = [value]
  return out
}

/** undefined when every resource is allowed; else the first one that is not, and why. */
export function authorize(
  policies: Policy[],
  principal: Principal,
  accountId: string,
  access: Access,
): Denial | undefined {
  const base = { ...principalContext(principal, accountId), ...access.context }
  for (const resource of access.resources) {
    const { decision } = evaluate(policies, {
      action: access.action,
      resource: resource.arn,
      context: { ...base, ...resource.context },
    })
    if (decision !== 'allowed') return { action: access.action, resource: resource.arn, decision }
  }
  return undefined
}

/**
 * The text AWS services put in AccessDenied: "User: ARN is not authorized to perform: ACTION on
 * resource: ARN because no identity-based policy allows the ACTION action" (" with an explicit deny
 * in an identity-based policy" for a Deny); actions without resource types leave "on resource" out.
 */
export function deniedMessage(principalArn: string, denial: Denial): string {
  const on = denial.resource === '*' ? '' : ` on resource: ${denial.resource}`
  const why =
    denial.decision === 'explicitDeny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${denial.action} action`
  return `User: ${principalArn} is not authorized to perform: ${denial.action}${on} ${why}`
}
