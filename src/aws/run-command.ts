// Run Command: one AWS-RunShellScript for up to 50 instances a call, then wait for each to finish.
// Right after SendCommand the invocations do not exist yet, and they can take half a minute to
// start: poll ListCommandInvocations (one call for all 50) with backoff.
import { ListCommandInvocationsCommand, SendCommandCommand } from '@aws-sdk/client-ssm'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'

export const IDS_PER_COMMAND = 50

export interface InvocationResult {
  instanceId: string
  status: string
  responseCode: number
  output: string
}

const terminal = new Set([
  'Success',
  'Failed',
  'TimedOut',
  'Cancelled',
  'Undeliverable',
  'Terminated',
  'InvalidPlatform',
  'AccessDenied',
])

export async function runShellScript(
  clients: AwsClients,
  instanceIds: string[],
  script: string,
  options: {
    timeoutSeconds: number
    deadline: number
    comment?: string
    sleep?: (ms: number) => Promise<void>
  },
): Promise<InvocationResult[]> {
  const ssm = await clients.ssm()
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)))
  const results: InvocationResult[] = []
  const batches: string[][] = []
  for (let i = 0; i < instanceIds.length; i += IDS_PER_COMMAND)
    batches.push(instanceIds.slice(i, i + IDS_PER_COMMAND))
  const commands = await Promise.all(
    batches.map(async (ids) => {
      try {
        const out = await ssm.send(
          new SendCommandCommand({
            DocumentName: 'AWS-RunShellScript',
            InstanceIds: ids,
            TimeoutSeconds: Math.max(30, options.timeoutSeconds),
            ...(options.comment ? { Comment: options.comment.slice(0, 100) } : {}),
            Parameters: { commands: [script], executionTimeout: ['60'] },
          }),
        )
        return { id: out.Command?.CommandId ?? '', ids }
      } catch (error) {
        throw translateAwsError(error, { operation: 'SendCommand' })
      }
    }),
  )
  for (const { id, ids } of commands) {
    const pending = new Set(ids)
    let delay = 250
    while (pending.size > 0 && Date.now() < options.deadline) {
      await sleep(delay)
      delay = Math.min(2_000, delay * 2)
      let token: string | undefined
      do {
        const page = await ssm.send(
          new ListCommandInvocationsCommand({
            CommandId: id,
            Details: true,
            ...(token ? { NextToken: token } : {}),
          }),
        )
        for (const inv of page.CommandInvocations ?? []) {
          if (!inv.InstanceId || !pending.has(inv.InstanceId) || !terminal.has(inv.Status ?? '')) continue
          pending.delete(inv.InstanceId)
          const plugin = inv.CommandPlugins?.[0]
          results.push({
            instanceId: inv.InstanceId,
            status: inv.Status ?? '',
            responseCode: plugin?.ResponseCode ?? -1,
            output: plugin?.Output ?? '',
          })
        }
        token = page.NextToken
      } while (token)
    }
    for (const instanceId of pending)
      results.push({
        instanceId,
        status: 'TimedOut',
        responseCode: -1,
        output: 'no result before the deadline',
      })
  }
  return results
}
