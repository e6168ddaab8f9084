// The agent versions ssm-ssh's features need (aws-api-notes.md §3, session-protocol.md).
import { compareVersions } from '../../support/version-compare.ts'
import { type Finding, fail, ok, warn } from './finding.ts'

export const AGENT_FEATURES: Array<{ feature: string; min: string; needed: boolean }> = [
  // ssh itself: without it nothing works
  { feature: 'SSH (AWS-StartSSHSession)', min: '2.3.672.0', needed: true },
  // multiplexed port forwarding (smux): older agents forward one connection at a time
  { feature: 'multiplexed forwarding', min: '3.0.196.0', needed: false },
  { feature: 'remote-host forwarding (forward --via)', min: '3.1.1374.0', needed: false },
]

export function agentVersionFindings(target: string, version: string): Finding[] {
  if (!/^\d+(\.\d+)+$/.test(version))
    return [
      warn(
        'agent version',
        'the agent has not reported its version (it never pinged?)',
        'start the agent on the host: sudo systemctl restart amazon-ssm-agent',
        target,
      ),
    ]
  return AGENT_FEATURES.map(({ feature, min, needed }) => {
    if (compareVersions(version, min) >= 0)
      return ok(`agent for ${feature}`, `agent ${version} ≥ ${min}`, target)
    const why = `agent ${version} is older than ${min}, which ${feature} needs`
    const fix = 'update the agent: Run Command AWS-UpdateSSMAgent, or the package on the host'
    return needed
      ? fail(`agent for ${feature}`, why, fix, target)
      : warn(`agent for ${feature}`, why, fix, target)
  })
}
