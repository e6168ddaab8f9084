// run through Run Command: the SendCommand calls of the plan, then a poll that costs one call per
// command while nothing changes (ListCommands' CompletedCount, or the one invocation page of a
// ≤ 50-id command) and reads the invocations only when more have finished. Outputs come from the
// plugin Output already in that listing when it holds them whole; GetCommandInvocation otherwise.
// Ctrl-C cancels (CancelCommand) and waits briefly for the agents to say so.
import type { AwsClients } from '../../aws/clients.ts'
import {
  cancelCommand,
  commandProgress,
  InvalidNextTokenError,
  type Invocation,
  invocationOutput,
  invocationPages,
  sendCommand,
} from '../../aws/command-runs.ts'
import type { Context } from '../../cli/command.ts'
import type { Instance } from '../../domain/instance.ts'
import { IDS_PER_CALL, type Plan, type Send } from '../../domain/run/plan.ts'
import {
  FINISHED,
  type HostResult,
  hostStatus,
  isTruncated,
  splitPluginOutput,
} from '../../domain/run/results.ts'
import { mapPool } from '../../support/pool.ts'
import { sleep } from '../../support/sleep.ts'
import type { RunReport } from '../../ui/run-report.ts'
import type { RunOptions } from '../run.ts'

/** GetCommandInvocation calls in flight when Output was trimmed. */
const OUTPUT_CONCURRENCY = 16
/** Polls start this far apart and back off to POLL_MAX_MS while nothing finishes. */
const POLL_MIN_MS = 500
const POLL_MAX_MS = 2_000
/** After Ctrl-C: how long to wait for the agents to confirm the cancellation. */
const CANCEL_WAIT_MS = 15_000

interface Running {
  id: string
  send: Send
  seen: Set<string>
  /** invocations the service made of it (a tag expands there) */
  targets: number
  done: boolean
  /**
   * The token of the first page that still had unfinished invocations last time: the pages before it
   * are all finished and reported, and a listing of 1,000 nodes (20 pages) need not read them again.
   * undefined: from the first page.
   */
  resumeAt?: string
}

export interface RunCommandIo {
  sleep(ms: number, signal: AbortSignal): Promise<void>
}

const defaultIo: RunCommandIo = { sleep }

function defaultComment(options: RunOptions, ctx: Context): string {
  const who = ctx.env.USER ?? ctx.env.LOGNAME ?? 'someone'
  return `ssm-ssh run by ${who}: ${options.command}`.slice(0, 100)
}

async function toResult(
  clients: AwsClients,
  commandId: string,
  inv: Invocation,
  names: Map<string, Instance>,
): Promise<HostResult> {
  const status = hostStatus(inv.status, inv.statusDetails)
  const whole = splitPluginOutput(inv.output)
  const streams = whole ?? (await invocationOutput(clients, commandId, inv.instanceId))
  return {
    id: inv.instanceId,
    name: names.get(inv.instanceId)?.name || inv.instanceName || inv.instanceId,
    status,
    exitCode: inv.responseCode >= 0 ? inv.responseCode : null,
    stdout: streams.stdout,
    stderr: streams.stderr,
    truncated: whole === undefined && isTruncated(streams.stdout, streams.stderr),
  }
}

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
  const names = new Map(fleet.map((i) => [i.id, i]))
  const comment = options.comment ?? defaultComment(options, ctx)
  const sent = await Promise.allSettled(
    plan.sends.map((send) =>
      sendCommand(clients, {
        document: send.document,
        instanceIds: send.instanceIds,
        ...(send.tag ? { tag: send.tag } : {}),
        commands: [options.command],
        ...(options.workingDir ? { workingDir: options.workingDir } : {}),
        executionTimeoutSeconds: options.timeoutSeconds,
        deliveryTimeoutSeconds: options.deliveryTimeoutSeconds,
        maxConcurrency: send.maxConcurrency,
        maxErrors: send.maxErrors,
        comment,
        ...(options.outputS3Bucket ? { outputS3Bucket: options.outputS3Bucket } : {}),
        ...(options.outputS3Prefix ? { outputS3Prefix: options.outputS3Prefix } : {}),
        cloudWatch: options.cloudWatch,
        ...(options.cloudWatchGroup ? { cloudWatchGroup: options.cloudWatchGroup } : {}),
      }),
    ),
  )
  // every call refused (credentials, access, a bad document): that error, with its own exit code
  const refused = sent.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (refused.length === sent.length) throw refused[0]?.reason
  const running: Running[] = []
  sent.forEach((r, n) => {
    const send = plan.sends[n] as Send
    if (r.status === 'fulfilled') {
      running.push({
        id: r.value,
        send,
        seen: new Set(),
        targets: send.tag ? 0 : send.instanceIds.length,
        done: false,
      })
      return
    }
    // one call of several refused (an id the service does not know): its hosts fail, the rest runs
    const why = (r.reason as Error).message
    for (const i of send.instances)
      report.result({
        id: i.id,
        name: i.name,
        status: 'Failed',
        exitCode: null,
        stdout: '',
        stderr: '',
        truncated: false,
        detail: `not sent: ${why}`,
      })
  })
  ctx.log.verbose(`sent ${running.length} command(s): ${running.map((r) => r.id).join(', ')}`)
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
  /**
   * Reports finished invocations not reported yet, page by page, reading from r.resumeAt and moving
   * it on; stops once `wanted` new ones came (ListCommands said how many finished), since the rest
   * of the pages can only hold unfinished ones. Returns how many it reported.
   */
  const reportFinished = async (r: Running, wanted: number): Promise<number> => {
    let found = 0
    let resumeAt: string | undefined
    let open = false
    let stoppedBefore: string | undefined
    try {
      for await (const page of invocationPages(clients, r.id, r.resumeAt)) {
        const fresh = page.invocations.filter(
          (inv) => FINISHED.has(inv.status) && !r.seen.has(inv.instanceId),
        )
        for (const inv of fresh) r.seen.add(inv.instanceId)
        const results = await mapPool(fresh, OUTPUT_CONCURRENCY, (inv) => toResult(clients, r.id, inv, names))
        for (const result of results) report.result(result)
        found += fresh.length
        if (!open && page.invocations.some((inv) => !FINISHED.has(inv.status))) {
          open = true
          resumeAt = page.token
        }
        if (found >= wanted) {
          stoppedBefore = page.next
          break
        }
      }
    } catch (error) {
      if (!(error instanceof InvalidNextTokenError)) throw error
      // the service no longer takes the saved token: read it all again
      r.resumeAt = undefined
      return found + (await reportFinished(r, wanted - found))
    }
    // every page read had finished: go on after them next time, or, having read to the end without
    // finding all (the order moved), from the start
    r.resumeAt = open ? resumeAt : stoppedBefore
    return found
  }
  const poll = async (r: Running): Promise<boolean> => {
    let wanted = Number.POSITIVE_INFINITY
    // a tag or more than a page: one ListCommands call says whether anything new finished
    if (r.send.tag || r.send.instanceIds.length > IDS_PER_CALL) {
      const progress = await commandProgress(clients, r.id)
      if (progress.targets > 0 || FINISHED.has(progress.status)) r.targets = progress.targets
      const complete = FINISHED.has(progress.status) && r.seen.size >= r.targets
      if (progress.completed <= r.seen.size && !complete) return false
      wanted = progress.completed - r.seen.size
    }
    const found = wanted > 0 ? await reportFinished(r, wanted) : 0
    if (r.targets > 0 && r.seen.size >= r.targets) r.done = true
    if (r.send.tag && r.targets === 0) {
      // a tag no node carries any more: the command ends with nothing to run
      const progress = await commandProgress(clients, r.id)
      if (FINISHED.has(progress.status) && progress.targets === 0) r.done = true
    }
    return found > 0
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
    const changed = await Promise.all(running.filter((r) => !r.done).map(poll))
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
        if (!r.seen.has(i.id))
          report.result({
            id: i.id,
            name: i.name,
            status: 'Cancelled',
            exitCode: null,
            stdout: '',
            stderr: '',
            truncated: false,
            detail: 'the agent had not confirmed it yet',
          })
  }
  return cancelling
}
