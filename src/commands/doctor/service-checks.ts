// doctor's checks of each target as the service sees it: online and when last heard, the agent's
// version against each feature, the account's managed-instance tier (mi- nodes need advanced for
// Session Manager), and whether IAM lets the caller start an SSH session there.
import type { AwsClients } from '../../aws/clients.ts'
import type { Decision } from '../../aws/iam-simulate.ts'
import type { CallerIdentity } from '../../aws/sts.ts'
import { agentVersionFindings } from '../../domain/doctor/agent-features.ts'
import { type Finding, fail, ok, warn } from '../../domain/doctor/finding.ts'
import type { Instance } from '../../domain/instance.ts'
import { ago } from '../../support/time.ts'

export function pingFindings(i: Instance, now: Date): Finding[] {
  if (i.pingStatus === 'Online')
    return [ok('ping', `Online, last ping ${ago(i.lastPing, now, 'never')}`, i.id)]
  return [
    fail(
      'ping',
      `offline (${i.pingStatus || 'never registered'}), last ping ${ago(i.lastPing, now, 'never')}`,
      'power the host and check its network; on it: sudo systemctl status amazon-ssm-agent',
      i.id,
    ),
  ]
}

export function versionFindings(i: Instance): Finding[] {
  return agentVersionFindings(i.id, i.agentVersion)
}

export function tierFinding(
  i: Instance,
  tier: { tier?: string; denied?: string },
  region: string,
  account: string,
): Finding | undefined {
  if (!i.id.startsWith('mi-')) return undefined
  if (tier.tier === undefined)
    return warn(
      'instance tier',
      `could not check the managed-instance tier: ${tier.denied ?? 'no answer'}`,
      'allow ssm:GetServiceSetting to check it',
      i.id,
    )
  if (tier.tier === 'advanced')
    return ok('instance tier', 'advanced: Session Manager reaches mi- nodes', i.id)
  return fail(
    'instance tier',
    `the account's managed-instance tier is ${tier.tier}: Session Manager does not reach mi- nodes`,
    `aws ssm update-service-setting --setting-id arn:aws:ssm:${region}:${account}:servicesetting/ssm/managed-instance/activation-tier --setting-value advanced`,
    i.id,
  )
}

/** The instance and document ARNs StartSession is authorised on. */
export function sessionArns(i: Instance, caller: CallerIdentity, region: string) {
  const partition = /^arn:([^:]+):/.exec(caller.arn)?.[1] ?? 'aws'
  return {
    instanceArn: i.id.startsWith('mi-')
      ? `arn:${partition}:ssm:${region}:${caller.account}:managed-instance/${i.id}`
      : `arn:${partition}:ec2:${region}:${caller.account}:instance/${i.id}`,
    documentArn: `arn:${partition}:ssm:${region}::document/AWS-StartSSHSession`,
  }
}

export async function permissionFinding(
  clients: AwsClients,
  i: Instance,
  caller: CallerIdentity,
  region: string,
): Promise<Finding> {
  const { simulateStartSession } = await import('../../aws/iam-simulate.ts')
  const d: Decision = await simulateStartSession(clients, caller.arn, sessionArns(i, caller, region), i.tags)
  if (d.decision === 'allowed')
    return ok('permission', 'IAM allows ssm:StartSession with AWS-StartSSHSession here', i.id)
  if (d.decision === 'denied')
    return fail(
      'permission',
      `IAM denies the caller ssm:StartSession with AWS-StartSSHSession here (${d.how})`,
      'ssm-ssh policy prints a policy that allows it; ask your AWS admin to attach it',
      i.id,
    )
  return warn(
    'permission',
    `could not check whether IAM allows StartSession: ${d.why}`,
    'allow iam:SimulatePrincipalPolicy on yourself to check it',
    i.id,
  )
}
