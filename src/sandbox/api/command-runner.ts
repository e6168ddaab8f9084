// What the service does with a sent command: hands invocations to agents at most MaxConcurrency at a
// time, stops handing them out once more than MaxErrors failed, times out the ones no agent took
// before TimeoutSeconds, and stops running ones on CancelCommand (aws-api-notes.md §2.7, §2.9).
import type { CommandStatus, SandboxState, SimCommand, SimInstance, SimInvocation } from '../model.ts'
import { stringPrefix, truncateOutput } from './agent-output.ts'
import { concurrencyLimit, errorLimit } from './rate-control.ts'

export type RunScript = (
  instanceId: string,
  script: string,
  opts: {
    timeoutSeconds: number
    signal: AbortSignal
    /** the command and its parameters as sent, for a real agent that runs the document itself */
    commandId?: string
    parameters?: Record<string, string[]>
  },
) => Promise<{ exitCode: number; stdout: string; stderr: string; status?: CommandStatus }>

/** How long an online agent takes to pick a command up. */
const PICKUP_MS = 50

/**
 * The timeout the agent applies: outside 5–172,800 s it takes its default of an hour (amazon-ssm-agent
 * pluginutil ValidateExecutionTimeout; seen from the real agent, which ran `sleep 30` to the end with
 * executionTimeout 2).
 */
export function agentExecutionTimeout(seconds: number): number {
  return seconds < 5 || seconds > 172_800 ? 3600 : seconds
}

export const STATUS_DETAILS: Record<CommandStatus, string> = {
  Pending: 'Pending',
  InProgress: 'In Progress',
  Delayed: 'Delayed',
  Success: 'Success',
  Cancelled: 'Cancelled',
  TimedOut: 'Execution Timed Out',
  Failed: 'Failed',
  Cancelling: 'Cancelling',
  Undeliverable: 'Undeliverable',
}

/**
 * A timer at `at` (epoch ms), unref'd. TimeoutSeconds goes up to 30 days, past what setTimeout can
 * wait (2^31 - 1 ms, ~24.8 days: a longer delay fires at once), so a far deadline waits in steps.
 */
function timerAt(at: number, fn: () => void): { clear(): void } {
  let timer: NodeJS.Timeout
  const arm = () => {
    const left = at - Date.now()
    timer = setTimeout(left > MAX_TIMER_MS ? arm : fn, Math.max(0, Math.min(left, MAX_TIMER_MS)))
    timer.unref()
  }
  arm()
  return { clear: () => clearTimeout(timer) }
}
const MAX_TIMER_MS = 2 ** 31 - 1

export const isFinished = (inv: SimInvocation) =>
  !['Pending', 'InProgress', 'Delayed', 'Cancelling'].includes(inv.status)

/** Failed, timed out (delivery or execution) count against MaxErrors; Undeliverable does not. */
const isError = (inv: SimInvocation) => inv.status === 'Failed' || inv.status === 'TimedOut'

function finish(inv: SimInvocation, status: CommandStatus, details = STATUS_DETAILS[status]): void {
  inv.status = status
  inv.statusDetails = details
  inv.cancel = undefined
  inv.output ??= ''
}

export interface RunOptions {
  script: string
  executionTimeout: number
  runScript: RunScript
  /** the document's platforms: a node of another one fails at once */
  platforms: string[]
}

/** Starts delivering `command` to `instances` (its invocations exist already, Pending). */
export function startCommand(
  state: SandboxState,
  command: SimCommand,
  instances: SimInstance[],
  options: RunOptions,
): void {
  const queue = [...instances]
  const limit = concurrencyLimit(command.maxConcurrency, instances.length)
  const maxErrors = errorLimit(command.maxErrors, instances.length)
  let running = 0
  let errors = 0
  const deliveryDeadline = command.requestedDateTime.getTime() + command.timeoutSeconds * 1000
  const invocationOf = (i: SimInstance) => command.invocations.get(i.id) as SimInvocation
  const pump = () => {
    while (running < limit && queue.length > 0) {
      const instance = queue.shift() as SimInstance
      const inv = invocationOf(instance)
      if (isFinished(inv)) continue
      if (errors > maxErrors) {
        // the parent command exceeded MaxErrors: the rest is never sent [U: Status Cancelled]
        finish(inv, 'Cancelled', 'Terminated')
        continue
      }
      running++
      void deliver(state, command, instance, inv, deliveryDeadline, options).then(() => {
        running--
        if (isError(inv)) errors++
        pump()
      })
    }
  }
  // what no agent has picked up when TimeoutSeconds ends never runs
  timerAt(deliveryDeadline, () => {
    for (const instance of queue) {
      const inv = invocationOf(instance)
      if (!isFinished(inv)) finish(inv, 'TimedOut', 'Delivery Timed Out')
    }
  })
  pump()
}

function deliver(
  state: SandboxState,
  command: SimCommand,
  instance: SimInstance,
  inv: SimInvocation,
  deliveryDeadline: number,
  options: RunOptions,
): Promise<void> {
  return new Promise((resolve) => {
    const settle = (status: CommandStatus, details?: string) => {
      if (!isFinished(inv)) finish(inv, status, details)
      resolve()
    }
    if (instance.pingStatus === 'Online' && !options.platforms.includes(instance.platformType)) {
      setTimeout(() => settle('Failed', 'InvalidPlatform'), PICKUP_MS).unref()
      return
    }
    if (instance.pingStatus === 'Inactive') {
      // deregistered or gone: the service cannot deliver it at all
      setTimeout(() => settle('Undeliverable'), PICKUP_MS).unref()
      return
    }
    if (instance.pingStatus !== 'Online') {
      // an offline agent never asks for it: Delivery Timed Out at TimeoutSeconds
      const timer = timerAt(deliveryDeadline, () => settle('TimedOut', 'Delivery Timed Out'))
      inv.cancel = () => {
        timer.clear()
        settle('Cancelled')
      }
      return
    }
    const abort = new AbortController()
    const pickup = setTimeout(() => {
      inv.status = 'InProgress'
      inv.statusDetails = STATUS_DETAILS.InProgress
      inv.executionStartDateTime = state.now()
      inv.cancel = () => {
        inv.status = 'Cancelling'
        inv.statusDetails = STATUS_DETAILS.Cancelling
        abort.abort()
      }
      options
        .runScript(instance.id, options.script, {
          timeoutSeconds: agentExecutionTimeout(options.executionTimeout),
          signal: abort.signal,
          commandId: command.commandId,
          parameters: command.parameters,
        })
        .then(
          (r) => {
            inv.executionEndDateTime = state.now()
            inv.responseCode = r.exitCode
            inv.stdout = stringPrefix(r.stdout)
            inv.stderr = stringPrefix(r.stderr)
            inv.output = truncateOutput(inv.stdout, inv.stderr)
            const status = abort.signal.aborted
              ? 'Cancelled'
              : (r.status ?? (r.exitCode === 0 ? 'Success' : 'Failed'))
            settle(status)
          },
          (error: Error) => {
            inv.stderr = error.message
            inv.output = truncateOutput('', inv.stderr)
            settle('Failed')
          },
        )
    }, PICKUP_MS)
    pickup.unref()
    inv.cancel = () => {
      clearTimeout(pickup)
      settle('Cancelled')
    }
  })
}

/** CancelCommand: pending invocations end at once, running ones are stopped (best effort, as AWS says). */
export function cancelInvocations(command: SimCommand, instanceIds: string[] | undefined): void {
  const ids = instanceIds ?? [...command.invocations.keys()]
  if (instanceIds === undefined) command.cancelled = true
  for (const id of ids) {
    const inv = command.invocations.get(id)
    if (!inv || isFinished(inv)) continue
    if (inv.cancel) inv.cancel()
    else finish(inv, 'Cancelled')
  }
}
