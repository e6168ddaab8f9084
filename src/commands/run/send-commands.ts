// The SendCommand calls of a run's plan, all at once. A call the service refuses fails its own hosts
// and the others run; when it refuses every call (credentials, access, a bad document) that error
// stands, with its own exit code.
import type { AwsClients } from '../../aws/clients.ts'
import { sendCommand } from '../../aws/command-runs.ts'
import type { Context } from '../../cli/command.ts'
import type { Plan, Send } from '../../domain/run/plan.ts'
import { notRun } from '../../domain/run/results.ts'
import type { RunReport } from '../../ui/run-report.ts'
import type { RunOptions } from '../run.ts'
import type { Running } from './command-poll.ts'

/** Who ran what, for the audit trail (Comment holds 100 characters). */
function defaultComment(options: RunOptions, ctx: Context): string {
  const who = ctx.env.USER ?? ctx.env.LOGNAME ?? 'someone'
  return `ssm-ssh run by ${who}: ${options.recipe ? `recipe ${options.recipe}` : options.command}`.slice(
    0,
    100,
  )
}

export async function sendAll(
  plan: Plan,
  options: RunOptions,
  ctx: Context,
  clients: AwsClients,
  report: RunReport,
): Promise<Running[]> {
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
    // e.g. an id the service does not know, in this call's 50
    for (const i of send.instances)
      report.result(notRun(i, 'Failed', `not sent: ${(r.reason as Error).message}`))
  })
  ctx.log.verbose(`sent ${running.length} command(s): ${running.map((r) => r.id).join(', ')}`)
  return running
}
