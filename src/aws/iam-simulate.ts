// iam:SimulatePrincipalPolicy: may this caller start an SSH session on this instance? IAM evaluates
// the caller's own policies (identity-based, with permission boundaries), not SCPs or session
// policies, so "allowed" means "as far as IAM can tell". The caller may not be allowed to ask; then
// the answer is "unknown", with why.
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'

export type Decision =
  | { decision: 'allowed' }
  | { decision: 'denied'; how: string }
  | { decision: 'unknown'; why: string }

/**
 * The principal to simulate: an assumed role's session is simulated as its role
 * (arn:aws:sts::A:assumed-role/R/S → arn:aws:iam::A:role/R), as IAM asks.
 */
export function policySourceArn(callerArn: string): string {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn)
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : callerArn
}

export async function simulateStartSession(
  clients: AwsClients,
  callerArn: string,
  resources: { instanceArn: string; documentArn: string },
  /** the instance's tags, as the ssm:resourceTag/… condition keys StartSession is evaluated with */
  tags: Record<string, string> = {},
): Promise<Decision> {
  const { IAMClient, SimulatePrincipalPolicyCommand } = await (
    await import('./sdk/iam-chunk.ts')
  ).loadIamSdk()
  const { endpoint } = clients.settings
  const iam = new IAMClient({
    region: await clients.region(),
    credentials: () => clients.credentials(),
    ...(endpoint ? { endpoint } : {}),
    maxAttempts: 3,
  })
  try {
    const out = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: policySourceArn(callerArn),
        ActionNames: ['ssm:StartSession'],
        ResourceArns: [resources.instanceArn, resources.documentArn],
        ...(Object.keys(tags).length > 0
          ? {
              ContextEntries: Object.entries(tags).map(([k, v]) => ({
                ContextKeyName: `ssm:resourceTag/${k}`,
                ContextKeyValues: [v],
                ContextKeyType: 'string' as const,
              })),
            }
          : {}),
      }),
    )
    const results = out.EvaluationResults ?? []
    if (results.length === 0) return { decision: 'unknown', why: 'IAM returned no evaluation' }
    // one result per action and resource, or per action with a result per resource inside
    const decisions = results.flatMap((r) =>
      r.ResourceSpecificResults?.length
        ? r.ResourceSpecificResults.map((s) => ({
            decision: s.EvalResourceDecision,
            resource: s.EvalResourceName,
          }))
        : [{ decision: r.EvalDecision, resource: r.EvalResourceName }],
    )
    const denied = decisions.find((d) => d.decision !== 'allowed')
    if (!denied) return { decision: 'allowed' }
    return { decision: 'denied', how: `${denied.decision} on ${denied.resource ?? 'the resource'}` }
  } catch (error) {
    // denied to ask (or IAM unreachable): not a finding against the caller's sessions
    const translated = translateAwsError(error, { operation: 'iam:SimulatePrincipalPolicy' })
    return { decision: 'unknown', why: translated.message }
  } finally {
    iam.destroy()
  }
}
