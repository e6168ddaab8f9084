// doctor's checks on the hosts themselves: templates/doctor-host.sh through Run Command, one
// SendCommand for every online target, its report read back into findings — sshd, sudo, the agent's
// credentials and endpoints — and, with the service's view and our pinned keys beside it, clones.
import type { AwsClients } from '../../aws/clients.ts'
import { cloneFindings, hostKeyFindings, type Sighting } from '../../domain/doctor/clones.ts'
import { type Finding, fail, warn } from '../../domain/doctor/finding.ts'
import { hostFindings, parseHostReport } from '../../domain/doctor/host-report.ts'
import type { Instance } from '../../domain/instance.ts'
import { fingerprint } from '../../domain/push-key.ts'
import { AuthError } from '../../support/errors.ts'
import { readTemplate } from '../../support/templates.ts'

export interface HostCheckOptions {
  port: number
  expectedEndpoints: string[]
  /** ssm-ssh's pinned host keys (known_hosts text) and where they live */
  knownHosts: { text: string; path: string }
  fleet: Instance[]
  sightings: Map<string, Sighting[]>
  /** when to give up waiting for a host */
  deadline: number
}

/** type → SHA256 fingerprint of every key pinned for this id */
export function pinnedFingerprints(knownHosts: string, id: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of knownHosts.split('\n')) {
    const [host, type, blob] = line.trim().split(/\s+/)
    if (host === id && type && blob) out.set(type, fingerprint({ type, blob }))
  }
  return out
}

export async function hostChecks(
  clients: AwsClients,
  targets: Instance[],
  o: HostCheckOptions,
): Promise<Finding[]> {
  if (targets.length === 0) return []
  const { runShellScript } = await import('../../aws/run-command.ts')
  const template = await readTemplate('doctor-host.sh')
  const script = template.replace('__PORT__', String(o.port))
  let results: Awaited<ReturnType<typeof runShellScript>>
  try {
    results = await runShellScript(
      clients,
      targets.map((t) => t.id),
      script,
      { timeoutSeconds: 30, deadline: o.deadline, comment: 'ssm-ssh doctor' },
    )
  } catch (error) {
    // a caller who may not use Run Command still gets every other check
    if (!(error instanceof AuthError)) throw error
    return targets.map((t) =>
      warn(
        'run command',
        `could not run the host checks: ${error.message}`,
        'the host checks need ssm:SendCommand with AWS-RunShellScript (ssm-ssh policy --push-key grants it)',
        t.id,
      ),
    )
  }
  const findings: Finding[] = []
  for (const t of targets) {
    const r = results.find((x) => x.instanceId === t.id)
    const report = r ? parseHostReport(r.output) : undefined
    if (!r || !report) {
      const last = r?.output.split('\n').filter(Boolean).at(-1) ?? ''
      findings.push(
        fail(
          'run command',
          `the host checks did not run (${r?.status ?? 'no result'}${last ? `: ${last}` : ''})`,
          'ssm-ssh run TARGET -- true shows why; the instance role needs AmazonSSMManagedInstanceCore',
          t.id,
        ),
      )
      continue
    }
    if (!report.complete)
      findings.push(warn('run command', `the host checks stopped early (${r.status})`, '', t.id))
    findings.push(
      ...hostFindings(report, {
        target: t.id,
        name: t.name,
        port: o.port,
        expectedEndpoints: o.expectedEndpoints,
      }),
      ...cloneFindings(t, o.fleet, o.sightings.get(t.id) ?? [], {
        hostname: report.hostname,
        addresses: report.addresses,
      }),
      ...hostKeyFindings(
        t.id,
        t.name,
        pinnedFingerprints(o.knownHosts.text, t.id),
        report.hostKeys,
        o.knownHosts.path,
      ),
    )
  }
  return findings
}
