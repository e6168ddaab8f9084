// run through Run Command: the SendCommand calls of the plan (send-commands.ts), then polls of each
// command (command-poll.ts), closer together while hosts finish; an absolute --max-errors is counted
// over all the calls. Ctrl-C cancels (CancelCommand) and waits briefly for the agents to say so.
import type { AwsClients } from '../../aws/clients.ts'
import { cancelCommand } from '../../aws/command-runs.ts'
import type { Context } from '../../cli/command.ts'
import type { Instance } from '../../domain/instance.ts'
import type { Plan } from '../../domain/run/plan.ts'
import { type HostResult, notRun } from '../../domain/run/results.ts'
import { sleep } from '../../support/sleep.ts'
import type { RunReport } from '../../ui/run-report.ts'
import type { RunOptions } from '../run.ts'
import { type PollDeps, pollCommand } from './command-poll.ts'
import { sendAll } from './send-commands.ts'

/** Polls start this far apart and back off to POLL_MAX_MS while nothing finishes. */
const POLL_MIN_MS = 500
const POLL_MAX_MS = 2_000
/** After Ctrl-C: how long to wait for the agents to confirm the cancellation. */
const CANCEL_WAIT_MS = 15_000

export interface RunCommandIo {
  sleep(ms: number, signal: AbortSignal): Promise<void>
}

const defaultIo: RunCommandIo = { sleep }

/** Absolute --max-errors counts across every call of the run: past it, the other calls are cancelled. */
function overErrorBudget(maxErrors: string, results: HostResult[]): boolean {
  if (maxErrors.endsWith('%')) return false
  const errors = results.filter((r) => ['Failed', 'TimedOut', 'DeliveryTimedOut'].includes(r.status)).length
  return errors > Number(maxErrors)
}

/** Returns true when Ctrl-C cancelled the run. */
export async function fanOutRunCommand(
  plan: Plan,
  options: RunOptions,
  ctx: Context,
  clients: AwsClients,
  report: RunReport,
  fleet: Instance[],
  io: RunCommandIo = defaultIo,
): Promise<boolean> {
  const running = await sendAll(plan, options, ctx, clients, report)
  const deps: PollDeps = { clients, report, names: new Map(fleet.map((i) => [i.id, i])) }
  const skippedCount = report.results.length
  const updateTotal = () =>
    report.setTotal(skippedCount + running.reduce((n, r) => n + (r.targets || r.send.instances.length), 0))
  let cancelling = false
  let budgetSpent = false
  const cancelAll = async () => {
    await Promise.all(
      running
        .filter((r) => !r.done)
        .map((r) =>
          cancelCommand(clients, r.id).catch((e: Error) => ctx.log.verbose(`CancelCommand: ${e.message}`)),
        ),
    )
  }
  let delay = POLL_MIN_MS
  let cancelDeadline = 0
  // the service lists invocations about a second after SendCommand
  await io.sleep(1_000, ctx.signal)
  while (running.some((r) => !r.done)) {
    if (ctx.signal.aborted && !cancelling) {
      cancelling = true
      cancelDeadline = Date.now() + CANCEL_WAIT_MS
      ctx.log.info('cancelling (CancelCommand); waiting for the agents to confirm')
      await cancelAll()
    }
    const changed = await Promise.all(running.filter((r) => !r.done).map((r) => pollCommand(deps, r)))
    updateTotal()
    report.tick()
    if (!budgetSpent && overErrorBudget(options.maxErrors, report.results)) {
      budgetSpent = true
      ctx.log.info(`more than ${options.maxErrors} hosts failed: cancelling the rest (--max-errors)`)
      await cancelAll()
    }
    if (cancelling && Date.now() > cancelDeadline) break
    delay = changed.some(Boolean) ? POLL_MIN_MS : Math.min(POLL_MAX_MS, delay * 2)
    await io.sleep(cancelling ? POLL_MIN_MS : delay, cancelling ? new AbortController().signal : ctx.signal)
  }
  if (cancelling) {
    // what the agents did not confirm in time is reported as cancelled all the same
    for (const r of running)
      for (const i of r.send.instances)
        if (!r.seen.has(i.id)) report.result(notRun(i, 'Cancelled', 'the agent had not confirmed it yet'))
  }
  return cancelling
}
