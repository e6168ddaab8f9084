// run's steps: select the hosts, set aside the offline and too-old ones (reported, never sent), fan
// the command out (Run Command or ssh), stream results, and end with an exit code that says how it went.
import type { Context } from '../../cli/command.ts'
import type { Instance } from '../../domain/instance.ts'
import { planRun } from '../../domain/run/plan.ts'
import { type HostResult, NOT_REACHED, notRun, runExitCode } from '../../domain/run/results.ts'
import { CancelledError, ChildExitError, CliError, TargetError } from '../../support/errors.ts'
import { safeLabel } from '../../support/terminal-text.ts'
import { ago } from '../../support/time.ts'
import type { RunOptions } from '../run.ts'
import { MIN_AGENT } from '../session-target.ts'

/** Run Command's documents run on every agent version; the ssh way needs AWS-StartSSHSession's. */
const minAgentFor = (via: RunOptions['via']) =>
  via === 'ssh' ? (MIN_AGENT['AWS-StartSSHSession'] as string) : ''

function skippedResult(
  instance: Instance,
  reason: 'offline' | 'too-old',
  now: Date,
  minAgent: string,
): HostResult {
  return reason === 'offline'
    ? notRun(instance, 'Offline', `${instance.pingStatus}, last seen ${ago(instance.lastPing, now, 'never')}`)
    : notRun(instance, 'TooOld', `SSM Agent ${instance.agentVersion}, ssh needs ${minAgent} or newer`)
}

function names(results: HostResult[]): string {
  const shown = results.slice(0, 8).map((r) => safeLabel(r.name || r.id))
  return `${shown.join(', ')}${results.length > shown.length ? ` and ${results.length - shown.length} more` : ''}`
}

/** The run's end as one error (main prints it and exits with its code), or 0. */
export function outcome(results: HostResult[], cancelled: boolean): number {
  const code = cancelled ? 130 : runExitCode(results)
  if (code === 0) return 0
  const ok = results.filter((r) => r.status === 'Success').length
  const failed = results.filter((r) => r.status !== 'Success' && !NOT_REACHED.has(r.status))
  const unreached = results.filter((r) => NOT_REACHED.has(r.status))
  const parts = [
    ...(failed.length ? [`failed on ${names(failed)}`] : []),
    ...(unreached.length ? [`not reached: ${names(unreached)}`] : []),
  ]
  const message = `${ok} of ${results.length} hosts succeeded; ${parts.join('; ')}`
  if (cancelled)
    throw new CancelledError(`cancelled: ${ok} of ${results.length} hosts had succeeded`, {
      hint: 'the results above are what ran before Ctrl-C; the rest was cancelled (CancelCommand)',
    })
  if (code === 4)
    throw new TargetError(message, {
      hint: 'ssm-ssh ls --filter status=ConnectionLost shows the offline ones',
    })
  if (code === 1) throw new CliError(message, { hint: 'see the [status] lines above' })
  throw new ChildExitError(message, code)
}

export async function runOnTargets(options: RunOptions, ctx: Context): Promise<number> {
  const { clientsFor } = await import('../aws-context.ts')
  const { selectTargets } = await import('./select-targets.ts')
  const { createRunReport } = await import('../../ui/run-report.ts')
  const { colors } = await import('../../ui/color.ts')
  const clients = clientsFor(ctx)
  const selection = await selectTargets(options, ctx, clients)
  const minAgent = minAgentFor(options.via)
  const plan = planRun({
    instances: selection.instances,
    ...(selection.tag ? { tag: selection.tag } : {}),
    ...(options.document ? { document: options.document } : {}),
    minAgent,
    maxConcurrency: options.maxConcurrency,
    maxErrors: options.maxErrors,
  })
  const started = Date.now()
  const report = createRunReport({
    io: ctx.io,
    json: options.json,
    colors: colors(ctx.io.color),
    elapsed: () => Date.now() - started,
    total: selection.instances.length,
  })
  // Ctrl-C while the fleet was listed or picked: nothing was sent
  if (ctx.signal.aborted) throw new CancelledError('cancelled before anything was sent')
  // reported before anything is sent
  for (const s of plan.skipped) report.result(skippedResult(s.instance, s.reason, ctx.now(), minAgent))
  let cancelled = false
  if (plan.sends.length > 0) {
    if (options.via === 'ssh') {
      const { fanOutSsh } = await import('./via-ssh.ts')
      cancelled = await fanOutSsh(
        plan.sends.flatMap((s) => s.instances),
        options,
        ctx,
        report,
      )
    } else {
      const { fanOutRunCommand } = await import('./via-run-command.ts')
      cancelled = await fanOutRunCommand(plan, options, ctx, clients, report, selection.fleet)
    }
  }
  report.end()
  return outcome(report.results, cancelled)
}
