// One Run Command command of a run, polled: one call while nothing changes (ListCommands'
// CompletedCount, or the single invocation page of a ≤ 50-id command), and when more have finished,
// the invocation pages from the first one still running until as many new ones were found. Outputs
// come from the plugin Output already in that listing when it holds them whole (GetCommandInvocation
// otherwise), and each finished host is reported once.
import type { AwsClients } from '../../aws/clients.ts'
import {
  commandProgress,
  InvalidNextTokenError,
  type Invocation,
  invocationOutput,
  invocationPages,
} from '../../aws/command-runs.ts'
import type { Instance } from '../../domain/instance.ts'
import { IDS_PER_CALL, type Send } from '../../domain/run/plan.ts'
import {
  FINISHED,
  type HostResult,
  hostStatus,
  isTruncated,
  splitPluginOutput,
} from '../../domain/run/results.ts'
import { mapPool } from '../../support/pool.ts'
import type { RunReport } from '../../ui/run-report.ts'

/** GetCommandInvocation calls in flight when Output was trimmed. */
const OUTPUT_CONCURRENCY = 16

export interface Running {
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

export interface PollDeps {
  clients: AwsClients
  report: RunReport
  /** the fleet as listed: names for the ids the service reports */
  names: Map<string, Instance>
}

async function toResult(deps: PollDeps, commandId: string, inv: Invocation): Promise<HostResult> {
  const whole = splitPluginOutput(inv.output)
  const streams = whole ?? (await invocationOutput(deps.clients, commandId, inv.instanceId))
  return {
    id: inv.instanceId,
    name: deps.names.get(inv.instanceId)?.name || inv.instanceName || inv.instanceId,
    status: hostStatus(inv.status, inv.statusDetails),
    exitCode: inv.responseCode >= 0 ? inv.responseCode : null,
    stdout: streams.stdout,
    stderr: streams.stderr,
    truncated: whole === undefined && isTruncated(streams.stdout, streams.stderr),
  }
}

/**
 * Reports finished invocations not reported yet, page by page, from r.resumeAt, and moves it on;
 * stops once `wanted` new ones came, since the pages after can hold only unfinished ones.
 */
async function reportFinished(deps: PollDeps, r: Running, wanted: number): Promise<number> {
  let found = 0
  let resumeAt: string | undefined
  let open = false
  let stoppedBefore: string | undefined
  try {
    for await (const page of invocationPages(deps.clients, r.id, r.resumeAt)) {
      const fresh = page.invocations.filter((inv) => FINISHED.has(inv.status) && !r.seen.has(inv.instanceId))
      for (const inv of fresh) r.seen.add(inv.instanceId)
      for (const result of await mapPool(fresh, OUTPUT_CONCURRENCY, (inv) => toResult(deps, r.id, inv)))
        deps.report.result(result)
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
    return found + (await reportFinished(deps, r, wanted - found))
  }
  // every page read had finished: go on after them next time; having read to the end without
  // finding all (the order moved): from the start
  r.resumeAt = open ? resumeAt : stoppedBefore
  return found
}

/** One poll of one command; true when it reported anything. */
export async function pollCommand(deps: PollDeps, r: Running): Promise<boolean> {
  let wanted = Number.POSITIVE_INFINITY
  // a tag or more than a page: one ListCommands call says whether anything new finished
  if (r.send.tag || r.send.instanceIds.length > IDS_PER_CALL) {
    const progress = await commandProgress(deps.clients, r.id)
    if (progress.targets > 0 || FINISHED.has(progress.status)) r.targets = progress.targets
    const complete = FINISHED.has(progress.status) && r.seen.size >= r.targets
    if (progress.completed <= r.seen.size && !complete) return false
    wanted = progress.completed - r.seen.size
  }
  const found = wanted > 0 ? await reportFinished(deps, r, wanted) : 0
  if (r.targets > 0 && r.seen.size >= r.targets) r.done = true
  if (r.send.tag && r.targets === 0) {
    // a tag no node carries any more: the command ends with nothing to run
    const progress = await commandProgress(deps.clients, r.id)
    if (FINISHED.has(progress.status) && progress.targets === 0) r.done = true
  }
  return found > 0
}
