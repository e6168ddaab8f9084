// Run Command for `run`: SendCommand (InstanceIds or Targets), its progress (ListCommands: one call
// says how many finished), the invocations with their plugin Output (ListCommandInvocations, 50 a
// page), whole streams where Output was trimmed (GetCommandInvocation), CancelCommand.
import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  type ListCommandInvocationsCommandOutput,
  ListCommandsCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'

export interface SendSpec {
  document: string
  instanceIds: string[]
  tag?: { key: string; value: string }
  commands: string[]
  workingDir?: string
  executionTimeoutSeconds: number
  deliveryTimeoutSeconds: number
  maxConcurrency: string
  maxErrors: string
  comment?: string
  outputS3Bucket?: string
  outputS3Prefix?: string
  cloudWatchGroup?: string
  cloudWatch: boolean
}

export interface Invocation {
  instanceId: string
  instanceName: string
  status: string
  statusDetails: string
  responseCode: number
  /** the plugin's Output: stdout and stderr in 2,500 bytes */
  output: string
}

async function call<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send()
  } catch (error) {
    throw translateAwsError(error, { operation })
  }
}

export async function sendCommand(clients: AwsClients, spec: SendSpec): Promise<string> {
  const ssm = await clients.ssm()
  const out = await call('SendCommand', () =>
    ssm.send(
      new SendCommandCommand({
        DocumentName: spec.document,
        ...(spec.tag
          ? { Targets: [{ Key: `tag:${spec.tag.key}`, Values: [spec.tag.value] }] }
          : { InstanceIds: spec.instanceIds }),
        Parameters: {
          commands: spec.commands,
          executionTimeout: [String(spec.executionTimeoutSeconds)],
          ...(spec.workingDir ? { workingDirectory: [spec.workingDir] } : {}),
        },
        TimeoutSeconds: spec.deliveryTimeoutSeconds,
        MaxConcurrency: spec.maxConcurrency,
        MaxErrors: spec.maxErrors,
        ...(spec.comment ? { Comment: spec.comment } : {}),
        ...(spec.outputS3Bucket ? { OutputS3BucketName: spec.outputS3Bucket } : {}),
        ...(spec.outputS3Prefix ? { OutputS3KeyPrefix: spec.outputS3Prefix } : {}),
        ...(spec.cloudWatch
          ? {
              CloudWatchOutputConfig: {
                CloudWatchOutputEnabled: true,
                ...(spec.cloudWatchGroup ? { CloudWatchLogGroupName: spec.cloudWatchGroup } : {}),
              },
            }
          : {}),
      }),
    ),
  )
  return out.Command?.CommandId ?? ''
}

/** How many of the command's invocations have finished, in one call. */
export async function commandProgress(
  clients: AwsClients,
  commandId: string,
): Promise<{ targets: number; completed: number; status: string }> {
  const ssm = await clients.ssm()
  const out = await call('ListCommands', () => ssm.send(new ListCommandsCommand({ CommandId: commandId })))
  const c = out.Commands?.[0]
  return { targets: c?.TargetCount ?? 0, completed: c?.CompletedCount ?? 0, status: c?.Status ?? '' }
}

export interface InvocationPage {
  invocations: Invocation[]
  /** the NextToken this page was asked for with (undefined: the first page) */
  token: string | undefined
  /** the token of the page after it (undefined: the last page) */
  next: string | undefined
}

/**
 * The command's invocations page by page (50 a page), from `startToken` when given: a caller that saw
 * the first pages finish can start where the unfinished ones begin. A token the service no longer
 * takes is InvalidNextTokenError.
 */
export async function* invocationPages(
  clients: AwsClients,
  commandId: string,
  startToken?: string,
): AsyncGenerator<InvocationPage> {
  const ssm = await clients.ssm()
  let token = startToken
  do {
    const asked = token
    let page: ListCommandInvocationsCommandOutput
    try {
      page = await ssm.send(
        new ListCommandInvocationsCommand({
          CommandId: commandId,
          Details: true,
          MaxResults: 50,
          ...(asked ? { NextToken: asked } : {}),
        }),
      )
    } catch (error) {
      if ((error as Error).name === 'InvalidNextToken') throw new InvalidNextTokenError()
      throw translateAwsError(error, { operation: 'ListCommandInvocations' })
    }
    yield {
      token: asked,
      next: page.NextToken || undefined,
      invocations: (page.CommandInvocations ?? []).map((inv) => {
        const plugin = inv.CommandPlugins?.[0]
        return {
          instanceId: inv.InstanceId ?? '',
          instanceName: inv.InstanceName ?? '',
          status: inv.Status ?? '',
          statusDetails: inv.StatusDetails ?? '',
          responseCode: plugin?.ResponseCode ?? -1,
          output: plugin?.Output ?? '',
        }
      }),
    }
    token = page.NextToken
  } while (token)
}

export class InvalidNextTokenError extends Error {}

/** Whole streams (the first 24,000 / 8,000 characters) of one finished invocation. */
export async function invocationOutput(
  clients: AwsClients,
  commandId: string,
  instanceId: string,
): Promise<{ stdout: string; stderr: string }> {
  const ssm = await clients.ssm()
  const r = await call('GetCommandInvocation', () =>
    ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })),
  )
  return { stdout: r.StandardOutputContent ?? '', stderr: r.StandardErrorContent ?? '' }
}

export async function cancelCommand(clients: AwsClients, commandId: string): Promise<void> {
  const ssm = await clients.ssm()
  await call('CancelCommand', () => ssm.send(new CancelCommandCommand({ CommandId: commandId })))
}
