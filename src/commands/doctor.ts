// ssm-ssh doctor: why ssh through Session Manager fails, or would — this machine (caller, endpoint,
// clock, OpenSSH, our Include), each target as the service sees it (online, agent version, tier,
// IAM) and as the host itself tells through Run Command (sshd, sudo, the agent's credentials and
// endpoints, host keys, clones). One finding a line, with its fix; the worst decides the exit code.
import { parseArgs } from 'node:util'
import type { Command } from '../cli/command.ts'
import { DOCTOR_EXIT, type Finding, fail } from '../domain/doctor/finding.ts'
import type { Instance } from '../domain/instance.ts'
import { resolveTarget } from '../domain/resolve.ts'
import { UsageError } from '../support/errors.ts'

export interface DoctorOptions {
  targets: string[]
  json: boolean
  /** the port sessions go to on the hosts (AWS-StartSSHSession's portNumber) */
  port: number
  /** agent endpoints that are expected although not AWS's (a VPC endpoint, a proxy, the sandbox) */
  expectedEndpoints: string[]
  /** seconds to wait for the hosts' answers */
  timeoutSeconds: number
}

export function parse(argv: string[]): DoctorOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      port: { type: 'string' },
      'expect-endpoint': { type: 'string', multiple: true },
      timeout: { type: 'string' },
    },
  })
  const port = Number(values.port ?? '22')
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--port ${values.port} is not a port number`, { hint: 'e.g. --port 22' })
  const timeoutSeconds = Number(values.timeout ?? '60')
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 5 || timeoutSeconds > 600)
    throw new UsageError(`--timeout ${values.timeout} is not 5 to 600 seconds`, { hint: 'e.g. --timeout 60' })
  for (const e of values['expect-endpoint'] ?? []) {
    if (!/^https:\/\/[^\s/]+\/?$/.test(e))
      throw new UsageError(`--expect-endpoint ${e} is not an https:// endpoint`, {
        hint: 'e.g. --expect-endpoint https://vpce-0123.ssm.eu-west-1.vpce.amazonaws.com',
      })
  }
  return {
    targets: positionals,
    json: values.json ?? false,
    port,
    expectedEndpoints: values['expect-endpoint'] ?? [],
    timeoutSeconds,
  }
}

export const doctor: Command<DoctorOptions> = {
  name: 'doctor',
  summary: 'find why ssh through Session Manager fails: this machine, the service, the hosts',
  usage: `ssm-ssh doctor [TARGET…] [--json] [--port 22] [--expect-endpoint URL]… [--timeout 60]
  exit ${DOCTOR_EXIT.ok}: all ok · ${DOCTOR_EXIT.warn}: warnings · ${DOCTOR_EXIT.fail}: failures · 1: doctor itself failed · 2: usage`,
  examples: ['ssm-ssh doctor', 'ssm-ssh doctor pi-kitchen web-1', 'ssm-ssh doctor tag:site=home --json'],
  parse,
  async run(options, ctx) {
    const started = Date.now()
    const { clientsFor, fleetSourceFor } = await import('./aws-context.ts')
    const { callerFindings, clockFinding, sshFindings, readOptional } = await import(
      './doctor/local-checks.ts'
    )
    const clients = clientsFor(ctx)
    const findings: Finding[] = []
    const names = new Map<string, string>()
    const [caller, ssh] = await Promise.all([callerFindings(ctx, clients), sshFindings(ctx)])
    findings.push(...caller.findings, ...ssh)
    if (caller.caller) {
      const { activationTier } = await import('../aws/service-setting.ts')
      const { getFleet } = await import('../aws/fleet.ts')
      const region = await clients.region()
      const [tier, fleet] = await Promise.all([
        activationTier(clients),
        options.targets.length > 0 ? getFleet(fleetSourceFor(ctx, clients), 0) : undefined,
      ])
      findings.push(clockFinding(tier.serviceDate, ctx.now()))
      if (fleet) {
        const { instances, unresolved } = resolveTargets(options.targets, fleet.instances)
        for (const i of instances) names.set(i.id, i.name)
        findings.push(...unresolved)
        const service = await import('./doctor/service-checks.ts')
        const { cloneFindings } = await import('../domain/doctor/clones.ts')
        const online = instances.filter((i) => i.pingStatus === 'Online')
        const perTarget = await Promise.all(
          instances.map(async (i) => {
            const tierFinding = service.tierFinding(i, tier, region, caller.caller?.account ?? '')
            return [
              ...service.pingFindings(i, ctx.now()),
              ...(i.pingStatus === 'Online' ? service.versionFindings(i) : []),
              ...(tierFinding ? [tierFinding] : []),
              await service.permissionFinding(
                clients,
                i,
                caller.caller as NonNullable<typeof caller.caller>,
                region,
              ),
              // the hosts that answer get these with what they say (host-checks.ts)
              ...(i.pingStatus === 'Online'
                ? []
                : cloneFindings(i, fleet.instances, fleet.sightings.get(i.id) ?? [])),
            ]
          }),
        )
        findings.push(...perTarget.flat())
        const { knownHostsPath } = await import('../ssh/known-hosts.ts')
        const { hostChecks } = await import('./doctor/host-checks.ts')
        const khPath = knownHostsPath(ctx.paths.sshDir)
        findings.push(
          ...(await hostChecks(clients, online, {
            port: options.port,
            expectedEndpoints: options.expectedEndpoints,
            knownHosts: { text: await readOptional(khPath), path: khPath },
            fleet: fleet.instances,
            sightings: fleet.sightings,
            deadline: Date.now() + options.timeoutSeconds * 1000,
          })),
        )
      }
    }
    // this machine first, then each target's findings together, in the order the targets were named
    const order = [...names.keys()]
    const rank = (f: Finding) =>
      f.target === undefined ? -1 : names.has(f.target) ? order.indexOf(f.target) : order.length
    findings.sort((a, b) => rank(a) - rank(b))
    const { exitCodeFor } = await import('../domain/doctor/finding.ts')
    const { printFindings } = await import('../ui/doctor-report.ts')
    printFindings(ctx.io.stdout, findings, { json: options.json, names })
    ctx.log.verbose(`doctor: ${Date.now() - started} ms`)
    return exitCodeFor(findings)
  },
}

/** Names, ids and tag:K=V to instances; a target that matches none or several is a failed finding. */
function resolveTargets(targets: string[], fleet: Instance[]) {
  const chosen = new Map<string, Instance>()
  const unresolved: Finding[] = []
  for (const t of targets) {
    const tag = /^tag:([^=]+)=(.*)$/.exec(t)
    if (tag) {
      const hits = fleet.filter((i) => i.tags[tag[1] as string] === tag[2])
      if (hits.length === 0)
        unresolved.push(fail('target', `no managed instance has the tag ${t.slice(4)}`, 'ssm-ssh ls', t))
      for (const h of hits) chosen.set(h.id, h)
      continue
    }
    const r = resolveTarget(t, fleet)
    if (r.kind === 'found') chosen.set(r.instance.id, r.instance)
    else if (r.kind === 'ambiguous')
      unresolved.push(
        fail(
          'target',
          `"${t}" matches ${r.candidates.map((c) => c.id).join(', ')}`,
          'pass one id (ssm-ssh ls lists them)',
          t,
        ),
      )
    else unresolved.push(fail('target', `no managed instance matches "${t}"`, 'ssm-ssh ls lists them', t))
  }
  return { instances: [...chosen.values()], unresolved }
}
