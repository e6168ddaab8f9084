// ssm-ssh reactivate TARGET: give a cloned Pi an id of its own. Two machines from one SD card share
// one mi- id (its registration is in /var/lib/amazon/ssm); whichever holds the control channel runs
// what is sent to that id. This re-registers one of them with a fresh activation (Run Command on the
// id, or --ssh to reach a given machine), waits for the new id to come Online, and deregisters the
// old id only once no machine uses it any more (no agent holds its channel); with a clone left
// behind it stays.
import { parseArgs } from 'node:util'
import type { Command, Context } from '../cli/command.ts'
import { type EnrollReport, parseEnrollReport } from '../domain/enroll-script.ts'
import type { PlainSshTarget } from '../ssh/run-plain.ts'
import { CliError, TargetError, UsageError } from '../support/errors.ts'
import { terminalSafe } from '../support/terminal-text.ts'
import { enrollOverSsh, enrollScript } from './enroll.ts'
import {
  type ActivationFlags,
  type EnsureActivation,
  NODE_FLAGS,
  nodeFlags,
  parseSeconds,
  storedActivation,
} from './enrolment.ts'

/**
 * How long the old id must go without an agent on its channel (GetConnectionStatus) before no
 * machine is said to use it. A clone's real agent, dropped from its control channel, asks for a new
 * one after up to 2.5 s of jitter, and when that try fails waits 5-10 s, ±50 %, before the next
 * (amazon-ssm-agent session/config: initial delay 5000 ms, jitter 0.5; controlchannel.go): 17.5 s
 * at worst for one failed try. 25 s covers it with room.
 */
export const CLONE_QUIET_MS = 25_000

export interface ReactivateOptions extends ActivationFlags {
  target: string
  /** Run Command: re-register only the machine of this host name */
  host?: string
  ssh?: PlainSshTarget
  name?: string
  timeoutSeconds: number
  /** how long to watch the old id before saying a machine still uses it */
  settleSeconds: number
  attempts: number
}

export function parse(argv: string[]): ReactivateOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      ...NODE_FLAGS,
      host: { type: 'string' },
      settle: { type: 'string' },
      attempts: { type: 'string' },
    },
  })
  if (positionals.length !== 1)
    throw new UsageError('reactivate takes one target: the id the clones share', {
      hint: 'ssm-ssh reactivate mi-0123456789abcdef0 --host pi-garage',
    })
  const shared = nodeFlags(values)
  if (shared.ssh && values.host !== undefined)
    throw new UsageError('--host and --ssh do not go together', {
      hint: '--ssh reaches one machine already; --host picks one behind the shared id',
    })
  if (values.host !== undefined && !/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(values.host))
    throw new UsageError(`--host ${values.host} is not a host name`, { hint: 'e.g. --host pi-garage' })
  const settleSeconds = parseSeconds('--settle', values.settle, 60)
  if (settleSeconds * 1000 <= CLONE_QUIET_MS)
    throw new UsageError(
      `--settle ${settleSeconds} is too short: an id is unused only after ${CLONE_QUIET_MS / 1000} s without a machine on it`,
      { hint: `e.g. --settle 60 (more than ${CLONE_QUIET_MS / 1000})` },
    )
  return {
    target: positionals[0] as string,
    ...shared,
    ...(values.host !== undefined ? { host: values.host } : {}),
    settleSeconds,
    attempts: parseSeconds('--attempts', values.attempts, 10),
  }
}

async function oldIdOf(target: string, ctx: Context): Promise<string> {
  if (/^mi-[0-9a-f]{17}$/.test(target)) return target
  const { clientsFor, fleetSourceFor } = await import('./aws-context.ts')
  const { getFleet } = await import('../aws/fleet.ts')
  const { resolveTarget } = await import('../domain/resolve.ts')
  const clients = clientsFor(ctx)
  const r = resolveTarget(target, (await getFleet(fleetSourceFor(ctx, clients))).instances)
  if (r.kind === 'found' && r.instance.id.startsWith('mi-')) return r.instance.id
  throw new TargetError(`${terminalSafe(target)} names no single managed node`, {
    hint: 'pass the mi- id the clones share (ssm-ssh ls lists it)',
  })
}

/** Run Command on the shared id until the machine asked for (--host, else any) has run it. */
async function reactivateThroughRunCommand(
  options: ReactivateOptions,
  ctx: Context,
  oldId: string,
  script: string,
): Promise<EnrollReport> {
  const { clientsFor } = await import('./aws-context.ts')
  const { runShellScript } = await import('../aws/run-command.ts')
  const clients = clientsFor(ctx)
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    const [result] = await runShellScript(clients, [oldId], script, {
      timeoutSeconds: 120,
      deadline: Date.now() + 120_000,
      comment: 'ssm-ssh reactivate',
    })
    const report = parseEnrollReport(result?.output ?? '')
    if (report.kind === 'registered') return report
    if (report.kind === 'elsewhere') {
      ctx.log.verbose(`attempt ${attempt}: ${oldId} was held by ${terminalSafe(report.host)}; trying again`)
      // clones take the channel from each other every few seconds: a pause of 2-5 s, not in step with them
      await new Promise((r) => setTimeout(r, 2000 + Math.floor(Math.random() * 3000)))
      continue
    }
    if (
      report.kind === 'failed' &&
      result?.status !== 'Success' &&
      !result?.output.includes('SSM_SSH_ENROLL')
    ) {
      ctx.log.verbose(`attempt ${attempt}: ${result?.status ?? 'no result'}; trying again`)
      continue
    }
    throw new CliError(
      `re-registering the machine behind ${oldId} failed: ${terminalSafe(report.kind === 'failed' ? report.reason : report.kind)}`,
      { hint: 'the agent’s log on the Pi is in /var/log/amazon/ssm/' },
    )
  }
  throw new TargetError(
    `${options.host ? `${terminalSafe(options.host)} never ran` : 'no machine ran'} the command sent to ${oldId} in ${options.attempts} attempts`,
    { hint: 'with --ssh USER@HOST the machine is reached directly' },
  )
}

export async function runReactivate(
  options: ReactivateOptions,
  ctx: Context,
  ensure: EnsureActivation,
): Promise<number> {
  const { clientsFor } = await import('./aws-context.ts')
  const { deregisterNode, idStillUsed, nameNode, waitOnline } = await import('../aws/managed-nodes.ts')
  const clients = clientsFor(ctx)
  const region = await clients.region()
  const oldId = await oldIdOf(options.target, ctx)
  const enrollOptions = { ...options, timeoutSeconds: options.timeoutSeconds, force: true }
  const report = options.ssh
    ? await enrollOverSsh(
        options.ssh,
        await enrollScript(enrollOptions, ctx, ensure, { region, mode: 'enroll', force: true }),
        ctx,
      )
    : await reactivateThroughRunCommand(
        options,
        ctx,
        oldId,
        await enrollScript(enrollOptions, ctx, ensure, {
          region,
          mode: 'reactivate',
          force: true,
          ...(options.host !== undefined ? { expectHost: options.host } : {}),
        }),
      )
  if (report.kind !== 'registered') throw new CliError(`${oldId}: the machine was not re-registered`)
  const newId = report.id
  if ((await waitOnline(clients, newId, options.timeoutSeconds * 1000, ctx.signal)) === undefined)
    throw new TargetError(
      `${terminalSafe(report.host)} registered as ${newId} but is not Online after ${options.timeoutSeconds} s`,
      {
        hint: `the old id ${oldId} is left as it was; the agent’s log is in /var/log/amazon/ssm/`,
      },
    )
  const name = options.name ?? report.host
  if (name !== '') await nameNode(clients, newId, name)
  const used = await idStillUsed(clients, oldId, {
    quietMs: CLONE_QUIET_MS,
    settleMs: options.settleSeconds * 1000,
    signal: ctx.signal,
    trace: (line) => ctx.log.verbose(line),
  })
  if (!used) await deregisterNode(clients, oldId)
  ctx.log.info(
    `${terminalSafe(report.host)} is now ${newId}; ${oldId} ${used ? 'is still used by another machine: kept' : 'is used by no machine: deregistered'}`,
  )
  ctx.io.stdout.write(`old ${oldId}\nnew ${newId}\n${used ? 'kept' : 'deregistered'} ${oldId}\n`)
  return 0
}

export const reactivate: Command<ReactivateOptions> = {
  name: 'reactivate',
  summary: 'give a cloned Pi an id of its own: re-register it, retire the id no machine uses',
  usage:
    'ssm-ssh reactivate TARGET [--host NAME | --ssh USER@HOST [-p PORT] [-i KEY] [-o OPTION…]] [--name NAME] [--activation-id ID --activation-code CODE | --role ROLE] [--timeout 60] [--settle 60] [--attempts 10]',
  examples: [
    '# clones share mi-0123…: whichever holds its channel runs the command; --host picks one by host name',
    'ssm-ssh reactivate mi-0123456789abcdef0 --host pi-garage',
    'ssm-ssh reactivate mi-0123456789abcdef0 --ssh pi@pi-garage.local   # reach the copy directly',
  ],
  parse,
  run: (options, ctx) => runReactivate(options, ctx, storedActivation),
}
