// Run Command: SendCommand / GetCommandInvocation / ListCommandInvocations — aws-api-notes.md §2.7–§2.9.
// AWS-RunShellScript really runs on the simulated host; invocations become visible about a second
// after SendCommand (InvocationDoesNotExist before), as on AWS.
import { randomUUID } from 'node:crypto'
import type { CommandStatus, SandboxState, SimCommand, SimInstance, SimInvocation } from '../model.ts'
import { awsError } from './errors.ts'
import { decodeToken, page } from './pagination.ts'
import { type Body, Checker, INSTANCE_ID } from './validate.ts'

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

/** How long a new invocation stays invisible to GetCommandInvocation (aws-api-notes.md §2.8). */
export const VISIBILITY_LAG_MS = 1000
const TIMED_OUT_EXIT_CODE = 124

const details: Record<CommandStatus, string> = {
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

function targetsOf(state: SandboxState, targets: Array<{ Key?: string; Values?: string[] }>): SimInstance[] {
  let set = [...state.instances.values()]
  for (const t of targets) {
    const key = t.Key ?? ''
    const values = t.Values ?? []
    if (key.startsWith('tag:')) set = set.filter((i) => values.includes(i.tags.get(key.slice(4)) ?? '\u0000'))
    else if (key === 'tag-key') set = set.filter((i) => values.some((v) => i.tags.has(v)))
    else if (key.toLowerCase() === 'instanceids') set = set.filter((i) => values.includes(i.id))
    else throw awsError('InvalidParameters', `Target key ${key} is not supported.`)
  }
  return set
}

function iso(d: Date | undefined): string {
  return d
    ? d
        .toISOString()
        .replace('Z', '+00:00')
        .replace(/\.(\d{3})/, '.$1')
    : ''
}

export function sendCommand(state: SandboxState, body: Body, runScript: RunScript) {
  new Checker(body)
    .required('DocumentName')
    .pattern('DocumentName', /^[a-zA-Z0-9_\-.:/]{3,128}$/)
    .length('InstanceIds', 0, 50)
    .length('Targets', 0, 5)
    .range('TimeoutSeconds', 30, 2_592_000)
    .length('Comment', 0, 100)
    .done()
  if (body.DocumentName !== 'AWS-RunShellScript')
    throw awsError('InvalidDocument', 'Document with that name does not exist.')
  const params = (body.Parameters as Record<string, string[]> | undefined) ?? {}
  const commands = params.commands
  if (!commands?.length) throw awsError('InvalidParameters')
  for (const name of Object.keys(params)) {
    if (!['commands', 'workingDirectory', 'executionTimeout'].includes(name))
      throw awsError('InvalidParameters')
  }
  const ids = (body.InstanceIds as string[] | undefined) ?? []
  const targets = (body.Targets as Array<{ Key?: string; Values?: string[] }> | undefined) ?? []
  for (const t of targets) {
    if ((t.Values?.length ?? 0) > 50)
      throw awsError(
        'ValidationException',
        '1 validation error detected: Member must have length less than or equal to 50',
      )
  }
  if (new Set(ids).size !== ids.length) throw awsError('DuplicateInstanceId')
  const bad = ids.filter((id) => !INSTANCE_ID.test(id) || !state.instances.has(id))
  if (bad.length > 0)
    throw awsError(
      'InvalidInstanceId',
      `Instances [[${bad.join(', ')}]] not in a valid state for account ${state.accountId}`,
    )
  if (ids.length === 0 && targets.length === 0)
    throw awsError('ValidationException', 'Either InstanceIds or Targets must be specified.')
  const instances =
    ids.length > 0 ? ids.map((id) => state.instances.get(id) as SimInstance) : targetsOf(state, targets)
  const now = state.now()
  const timeoutSeconds = (body.TimeoutSeconds as number | undefined) ?? 3600
  const executionTimeout = Number(params.executionTimeout?.[0] ?? '3600')
  const command: SimCommand = {
    commandId: randomUUID(),
    documentName: 'AWS-RunShellScript',
    ...(body.Comment ? { comment: body.Comment as string } : {}),
    parameters: params,
    instanceIds: instances.map((i) => i.id),
    ...(targets.length ? { targets: targets as SimCommand['targets'] } : {}),
    requestedDateTime: now,
    timeoutSeconds,
    invocations: new Map(),
  }
  state.commands.set(command.commandId, command)
  const workdir = params.workingDirectory?.[0]
  const script = `${workdir ? `cd ${JSON.stringify(workdir)} || exit 1\n` : ''}${commands.join('\n')}`
  for (const instance of instances) {
    const inv: SimInvocation = {
      commandId: command.commandId,
      instanceId: instance.id,
      status: 'Pending',
      statusDetails: 'Pending',
      responseCode: -1,
      stdout: '',
      stderr: '',
      visibleAt: new Date(now.getTime() + VISIBILITY_LAG_MS),
      requestedDateTime: now,
    }
    command.invocations.set(instance.id, inv)
    if (instance.pingStatus !== 'Online') {
      // An offline agent never receives it: Delivery Timed Out after TimeoutSeconds (§2.9)
      setTimeout(() => {
        inv.status = 'TimedOut'
        inv.statusDetails = 'Delivery Timed Out'
      }, timeoutSeconds * 1000).unref()
      continue
    }
    setTimeout(() => {
      inv.status = 'InProgress'
      inv.statusDetails = 'In Progress'
      inv.executionStartDateTime = state.now()
      runScript(instance.id, script, {
        timeoutSeconds: executionTimeout,
        signal: new AbortController().signal,
        commandId: command.commandId,
        parameters: params,
      }).then(
        (r) => {
          inv.executionEndDateTime = state.now()
          inv.responseCode = r.exitCode
          inv.stdout = r.stdout
          inv.stderr = r.stderr
          inv.status =
            r.status ??
            (r.exitCode === TIMED_OUT_EXIT_CODE ? 'TimedOut' : r.exitCode === 0 ? 'Success' : 'Failed')
          inv.statusDetails = details[inv.status]
        },
        (error: Error) => {
          inv.status = 'Failed'
          inv.statusDetails = 'Failed'
          inv.stderr = error.message
        },
      )
    }, 50).unref()
  }
  return {
    Command: {
      CommandId: command.commandId,
      DocumentName: command.documentName,
      DocumentVersion: '$DEFAULT',
      ...(command.comment ? { Comment: command.comment } : {}),
      ExpiresAfter: (now.getTime() + (timeoutSeconds + executionTimeout) * 1000) / 1000,
      Parameters: params,
      InstanceIds: ids,
      Targets: targets,
      RequestedDateTime: now.getTime() / 1000,
      Status: 'Pending',
      StatusDetails: 'Pending',
      MaxConcurrency: (body.MaxConcurrency as string | undefined) ?? '50',
      MaxErrors: (body.MaxErrors as string | undefined) ?? '0',
      TargetCount: 0,
      CompletedCount: 0,
      ErrorCount: 0,
      DeliveryTimedOutCount: 0,
      TimeoutSeconds: timeoutSeconds,
    },
  }
}

function elapsed(inv: SimInvocation): string {
  if (!inv.executionStartDateTime || !inv.executionEndDateTime) return ''
  return `PT${((inv.executionEndDateTime.getTime() - inv.executionStartDateTime.getTime()) / 1000).toFixed(3)}S`
}

export function getCommandInvocation(state: SandboxState, body: Body) {
  new Checker(body)
    .required('CommandId')
    .required('InstanceId')
    .length('CommandId', 36, 36)
    .pattern('InstanceId', INSTANCE_ID)
    .done()
  const command = state.commands.get(body.CommandId as string)
  if (!command) throw awsError('InvalidCommandId')
  const inv = command.invocations.get(body.InstanceId as string)
  if (!inv || inv.visibleAt.getTime() > state.now().getTime()) throw awsError('InvocationDoesNotExist')
  if (body.PluginName !== undefined && body.PluginName !== 'aws:runShellScript')
    throw awsError('InvalidPluginName')
  const done = !['Pending', 'InProgress', 'Delayed'].includes(inv.status)
  return {
    CommandId: command.commandId,
    InstanceId: inv.instanceId,
    ...(command.comment ? { Comment: command.comment } : {}),
    DocumentName: command.documentName,
    DocumentVersion: '$DEFAULT',
    PluginName: 'aws:runShellScript',
    ResponseCode: inv.responseCode,
    ExecutionStartDateTime: iso(inv.executionStartDateTime),
    ExecutionElapsedTime: elapsed(inv),
    ExecutionEndDateTime: iso(inv.executionEndDateTime),
    Status: inv.status,
    StatusDetails: inv.statusDetails,
    // first 24,000 / 8,000 characters, only once finished (§2.8)
    StandardOutputContent: done ? inv.stdout.slice(0, 24_000) : '',
    StandardOutputUrl: '',
    StandardErrorContent: done ? inv.stderr.slice(0, 8_000) : '',
    StandardErrorUrl: '',
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
  }
}

export function listCommandInvocations(state: SandboxState, body: Body) {
  new Checker(body).length('CommandId', 36, 36).range('MaxResults', 1, 50).length('Filters', 1, 5).done()
  const filters = (body.Filters as Array<{ key?: string; value?: string }> | undefined) ?? []
  for (const f of filters) {
    if (!['InvokedAfter', 'InvokedBefore', 'Status', 'DocumentName'].includes(f.key ?? ''))
      throw awsError('InvalidFilterKey')
  }
  if (body.CommandId !== undefined && !state.commands.has(body.CommandId as string))
    throw awsError('InvalidCommandId')
  const now = state.now().getTime()
  const list: Array<[SimCommand, SimInvocation]> = []
  for (const command of state.commands.values()) {
    if (body.CommandId !== undefined && command.commandId !== body.CommandId) continue
    for (const inv of command.invocations.values()) {
      if (inv.visibleAt.getTime() > now) continue
      if (body.InstanceId !== undefined && inv.instanceId !== body.InstanceId) continue
      if (
        !filters.every((f) =>
          f.key === 'Status'
            ? inv.status === f.value
            : f.key === 'DocumentName'
              ? command.documentName === f.value
              : true,
        )
      )
        continue
      list.push([command, inv])
    }
  }
  const p = page(
    'ListCommandInvocations',
    list,
    decodeToken('ListCommandInvocations', body.NextToken),
    (body.MaxResults as number | undefined) ?? 50,
  )
  return {
    CommandInvocations: p.items.map(([command, inv]) => ({
      CommandId: command.commandId,
      InstanceId: inv.instanceId,
      InstanceName: state.instances.get(inv.instanceId)?.computerName ?? '',
      Comment: command.comment ?? '',
      DocumentName: command.documentName,
      DocumentVersion: '$DEFAULT',
      RequestedDateTime: inv.requestedDateTime.getTime() / 1000,
      Status: inv.status,
      StatusDetails: inv.statusDetails,
      StandardOutputUrl: '',
      StandardErrorUrl: '',
      CommandPlugins: body.Details
        ? [
            {
              Name: 'aws:runShellScript',
              Status: inv.status === 'Delayed' || inv.status === 'Cancelling' ? 'InProgress' : inv.status,
              StatusDetails: inv.statusDetails,
              ResponseCode: inv.responseCode,
              ...(inv.executionStartDateTime
                ? { ResponseStartDateTime: inv.executionStartDateTime.getTime() / 1000 }
                : {}),
              ...(inv.executionEndDateTime
                ? { ResponseFinishDateTime: inv.executionEndDateTime.getTime() / 1000 }
                : {}),
              Output: `${inv.stdout}${inv.stderr ? `\n----------ERROR-------\n${inv.stderr}` : ''}`.slice(
                0,
                2500,
              ),
              StandardOutputUrl: '',
              StandardErrorUrl: '',
            },
          ]
        : [],
    })),
    ...(p.nextToken ? { NextToken: p.nextToken } : {}),
  }
}
