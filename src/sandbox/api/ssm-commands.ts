// Run Command: SendCommand / GetCommandInvocation / ListCommandInvocations / ListCommands /
// CancelCommand — aws-api-notes.md §2.7–§2.9. AWS-RunShellScript really runs on the simulated host
// (command-runner.ts delivers it); invocations become visible about a second after SendCommand
// (InvocationDoesNotExist before), as on AWS.
import { randomUUID } from 'node:crypto'
import type { SandboxState, SimCommand, SimInstance, SimInvocation } from '../model.ts'
import { cancelInvocations, isFinished, type RunScript, startCommand } from './command-runner.ts'
import { awsError } from './errors.ts'
import { decodeToken, page } from './pagination.ts'
import { MAX_CONCURRENCY, MAX_ERRORS } from './rate-control.ts'
import { type Body, Checker, INSTANCE_ID } from './validate.ts'

export type { RunScript } from './command-runner.ts'

/** How long a new invocation stays invisible to GetCommandInvocation (aws-api-notes.md §2.8). */
export const VISIBILITY_LAG_MS = 1000
/** GetCommandInvocation's StandardErrorContent holds 8,000 characters (StandardOutputContent 24,000). */
const STDERR_CONTENT_LIMIT = 8_000
const STDOUT_CONTENT_LIMIT = 24_000
const TARGET_KEY = /^([\p{L}\p{Z}\p{N}_.:/=\-@]*)$|resource-groups:ResourceTypeFilters|resource-groups:Name/u

/** The document's plugin: what GetCommandInvocation's PluginName and CommandPlugins' Name say. */
const PLUGINS: Record<string, { plugin: string; platforms: string[] }> = {
  'AWS-RunShellScript': { plugin: 'aws:runShellScript', platforms: ['Linux', 'MacOS'] },
  'AWS-RunPowerShellScript': { plugin: 'aws:runPowerShellScript', platforms: ['Windows'] },
}

type Target = { Key?: string; Values?: string[] }

function targetsOf(state: SandboxState, targets: Target[]): SimInstance[] {
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
  return d ? d.toISOString().replace('Z', '+00:00') : ''
}

const epoch = (d: Date) => d.getTime() / 1000

function validateSend(body: Body): void {
  const c = new Checker(body)
    .required('DocumentName')
    .pattern('DocumentName', /^[a-zA-Z0-9_\-.:/]{3,128}$/)
    .length('InstanceIds', 0, 50)
    .length('Targets', 0, 5)
    .range('TimeoutSeconds', 30, 2_592_000)
    .length('Comment', 0, 100)
    .length('MaxConcurrency', 1, 7)
    .pattern('MaxConcurrency', MAX_CONCURRENCY)
    .length('MaxErrors', 1, 7)
    .pattern('MaxErrors', MAX_ERRORS)
    .length('OutputS3BucketName', 3, 63)
    .length('OutputS3KeyPrefix', 0, 500)
  const targets = (body.Targets as Target[] | undefined) ?? []
  targets.forEach((t, n) => {
    const key = t.Key ?? ''
    if (key.length < 1 || key.length > 163 || !TARGET_KEY.test(key))
      c.v.add(key, `targets.${n + 1}.member.key`, 'Member must have length less than or equal to 163')
    if ((t.Values?.length ?? 0) > 50)
      c.v.add(t.Values, `targets.${n + 1}.member.values`, 'Member must have length less than or equal to 50')
  })
  c.done()
}

export function sendCommand(state: SandboxState, body: Body, runScript: RunScript) {
  validateSend(body)
  const documentName = body.DocumentName as string
  const document = PLUGINS[documentName]
  if (!document) throw awsError('InvalidDocument', 'Document with that name does not exist.')
  const params = (body.Parameters as Record<string, string[]> | undefined) ?? {}
  const commands = params.commands
  if (!commands?.length) throw awsError('InvalidParameters')
  for (const name of Object.keys(params)) {
    if (!['commands', 'workingDirectory', 'executionTimeout'].includes(name))
      throw awsError('InvalidParameters')
  }
  const executionTimeout = Number(params.executionTimeout?.[0] ?? '3600')
  if (
    !/^\d+$/.test(params.executionTimeout?.[0] ?? '3600') ||
    executionTimeout < 1 ||
    executionTimeout > 172_800
  )
    throw awsError('InvalidParameters', 'Parameter "executionTimeout" has invalid value.')
  const ids = (body.InstanceIds as string[] | undefined) ?? []
  const targets = (body.Targets as Target[] | undefined) ?? []
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
  const cloudWatch = body.CloudWatchOutputConfig as { CloudWatchLogGroupName?: string } | undefined
  const command: SimCommand = {
    commandId: randomUUID(),
    documentName,
    ...(body.Comment ? { comment: body.Comment as string } : {}),
    parameters: params,
    instanceIds: ids,
    ...(targets.length ? { targets: targets as SimCommand['targets'] } : {}),
    requestedDateTime: now,
    timeoutSeconds,
    maxConcurrency: (body.MaxConcurrency as string | undefined) ?? '50',
    maxErrors: (body.MaxErrors as string | undefined) ?? '0',
    ...(body.OutputS3BucketName ? { outputS3BucketName: body.OutputS3BucketName as string } : {}),
    ...(body.OutputS3KeyPrefix ? { outputS3KeyPrefix: body.OutputS3KeyPrefix as string } : {}),
    ...(cloudWatch?.CloudWatchLogGroupName
      ? { cloudWatchLogGroupName: cloudWatch.CloudWatchLogGroupName }
      : {}),
    invocations: new Map(),
  }
  state.commands.set(command.commandId, command)
  for (const instance of instances) {
    command.invocations.set(instance.id, {
      commandId: command.commandId,
      instanceId: instance.id,
      status: 'Pending',
      statusDetails: 'Pending',
      responseCode: -1,
      stdout: '',
      stderr: '',
      visibleAt: new Date(now.getTime() + VISIBILITY_LAG_MS),
      requestedDateTime: now,
    })
  }
  const workdir = params.workingDirectory?.[0]
  // the simulated agent runs the script with sh -c: the directory is quoted for it
  const script = `${workdir ? `cd '${workdir.replace(/'/g, `'\\''`)}' || exit 1\n` : ''}${commands.join('\n')}`
  startCommand(state, command, instances, {
    script,
    executionTimeout,
    runScript,
    platforms: document.platforms,
  })
  // the counts are 0 in SendCommand's reply; ListCommands fills them in (§2.7)
  return {
    Command: {
      ...commandShape(command),
      Status: 'Pending',
      StatusDetails: 'Pending',
      TargetCount: 0,
      CompletedCount: 0,
      ErrorCount: 0,
      DeliveryTimedOutCount: 0,
    },
  }
}

/** The Command structure of SendCommand and ListCommands, with its status summed up from the invocations. */
function commandShape(command: SimCommand) {
  const invocations = [...command.invocations.values()]
  const count = (test: (i: SimInvocation) => boolean) => invocations.filter(test).length
  const done = count(isFinished)
  const deliveryTimedOut = count((i) => i.statusDetails === 'Delivery Timed Out')
  const errors = count((i) => i.status === 'Failed' || i.status === 'TimedOut')
  let status: string
  let details: string
  if (done < invocations.length) {
    status =
      count((i) => i.status === 'Cancelling') > 0
        ? 'Cancelling'
        : done === 0 && count((i) => i.status === 'InProgress') === 0
          ? 'Pending'
          : 'InProgress'
    details = status === 'InProgress' ? 'In Progress' : status
  } else if (command.cancelled) {
    ;[status, details] = ['Cancelled', 'Cancelled']
  } else if (count((i) => i.status === 'Success') === invocations.length) {
    ;[status, details] = ['Success', 'Success']
  } else if (deliveryTimedOut > 0 && deliveryTimedOut === errors) {
    ;[status, details] = ['TimedOut', 'Delivery Timed Out']
  } else if (count((i) => i.statusDetails === 'Terminated') > 0) {
    ;[status, details] = ['Failed', 'Failed']
  } else {
    // every node tried, some did not succeed, fewer than MaxErrors failed [U: Status Failed]
    ;[status, details] = ['Failed', 'Incomplete']
  }
  const timeout = Number(command.parameters.executionTimeout?.[0] ?? '3600')
  return {
    CommandId: command.commandId,
    DocumentName: command.documentName,
    DocumentVersion: '$DEFAULT',
    Comment: command.comment ?? '',
    ExpiresAfter: epoch(command.requestedDateTime) + command.timeoutSeconds + timeout,
    Parameters: command.parameters,
    InstanceIds: command.instanceIds,
    Targets: command.targets ?? [],
    RequestedDateTime: epoch(command.requestedDateTime),
    Status: status,
    StatusDetails: details,
    OutputS3Region: '',
    OutputS3BucketName: command.outputS3BucketName ?? '',
    OutputS3KeyPrefix: command.outputS3KeyPrefix ?? '',
    MaxConcurrency: command.maxConcurrency,
    MaxErrors: command.maxErrors,
    TargetCount: invocations.length,
    CompletedCount: done,
    ErrorCount: errors,
    DeliveryTimedOutCount: deliveryTimedOut,
    TimeoutSeconds: command.timeoutSeconds,
    CloudWatchOutputConfig: {
      CloudWatchLogGroupName: command.cloudWatchLogGroupName ?? '',
      CloudWatchOutputEnabled: command.cloudWatchLogGroupName !== undefined,
    },
  }
}

/** An invocation's Status as the API shows it: Undeliverable is a Failed one [U]. */
const shownStatus = (inv: SimInvocation) => (inv.status === 'Undeliverable' ? 'Failed' : inv.status)

function elapsed(inv: SimInvocation): string {
  if (!inv.executionStartDateTime || !inv.executionEndDateTime) return ''
  return `PT${((inv.executionEndDateTime.getTime() - inv.executionStartDateTime.getTime()) / 1000).toFixed(3)}S`
}

const s3Url = (command: SimCommand, inv: SimInvocation, stream: 'stdout' | 'stderr') =>
  command.outputS3BucketName && isFinished(inv)
    ? `https://s3.amazonaws.com/${command.outputS3BucketName}/${command.outputS3KeyPrefix ? `${command.outputS3KeyPrefix}/` : ''}${command.commandId}/${inv.instanceId}/awsrunShellScript/0.awsrunShellScript/${stream}`
    : ''

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
  const plugin = PLUGINS[command.documentName]?.plugin ?? ''
  if (body.PluginName !== undefined && body.PluginName !== plugin) throw awsError('InvalidPluginName')
  const done = isFinished(inv)
  return {
    CommandId: command.commandId,
    InstanceId: inv.instanceId,
    Comment: command.comment ?? '',
    DocumentName: command.documentName,
    DocumentVersion: '$DEFAULT',
    PluginName: plugin,
    ResponseCode: inv.responseCode,
    ExecutionStartDateTime: iso(inv.executionStartDateTime),
    ExecutionElapsedTime: elapsed(inv),
    ExecutionEndDateTime: iso(inv.executionEndDateTime),
    Status: shownStatus(inv),
    StatusDetails: inv.statusDetails,
    // first 24,000 / 8,000 characters, only once finished (§2.8)
    StandardOutputContent: done ? inv.stdout.slice(0, STDOUT_CONTENT_LIMIT) : '',
    StandardOutputUrl: s3Url(command, inv, 'stdout'),
    StandardErrorContent: done ? inv.stderr.slice(0, STDERR_CONTENT_LIMIT) : '',
    StandardErrorUrl: s3Url(command, inv, 'stderr'),
    CloudWatchOutputConfig: {
      CloudWatchLogGroupName: command.cloudWatchLogGroupName ?? '',
      CloudWatchOutputEnabled: command.cloudWatchLogGroupName !== undefined,
    },
  }
}

type Filter = { key?: string; value?: string }

function checkFilters(filters: Filter[], keys: string[]): void {
  for (const f of filters) {
    if (!keys.includes(f.key ?? '')) throw awsError('InvalidFilterKey')
    if (!f.value || f.value.length > 128)
      throw awsError('InvalidFilter', `Invalid filter value ${f.value ?? ''}`)
  }
}

function matchesInvocation(f: Filter, command: SimCommand, inv: SimInvocation): boolean {
  const value = f.value ?? ''
  switch (f.key) {
    case 'Status':
      if (value === 'DeliveryTimedOut') return inv.statusDetails === 'Delivery Timed Out'
      if (value === 'ExecutionTimedOut') return inv.statusDetails === 'Execution Timed Out'
      if (value === 'Undeliverable' || value === 'Terminated') return inv.statusDetails === value
      return shownStatus(inv) === value
    case 'DocumentName':
      return command.documentName === value
    case 'InvokedAfter':
      return inv.requestedDateTime.getTime() >= Date.parse(value)
    case 'InvokedBefore':
      return inv.requestedDateTime.getTime() <= Date.parse(value)
    default:
      return true
  }
}

export function listCommandInvocations(state: SandboxState, body: Body) {
  new Checker(body).length('CommandId', 36, 36).range('MaxResults', 1, 50).length('Filters', 1, 5).done()
  const filters = (body.Filters as Filter[] | undefined) ?? []
  checkFilters(filters, ['InvokedAfter', 'InvokedBefore', 'Status', 'DocumentName'])
  if (body.CommandId !== undefined && !state.commands.has(body.CommandId as string))
    throw awsError('InvalidCommandId')
  const now = state.now().getTime()
  const list: Array<[SimCommand, SimInvocation]> = []
  for (const command of state.commands.values()) {
    if (body.CommandId !== undefined && command.commandId !== body.CommandId) continue
    for (const inv of command.invocations.values()) {
      if (inv.visibleAt.getTime() > now) continue
      if (body.InstanceId !== undefined && inv.instanceId !== body.InstanceId) continue
      if (filters.every((f) => matchesInvocation(f, command, inv))) list.push([command, inv])
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
      RequestedDateTime: epoch(inv.requestedDateTime),
      Status: shownStatus(inv),
      StatusDetails: inv.statusDetails,
      StandardOutputUrl: s3Url(command, inv, 'stdout'),
      StandardErrorUrl: s3Url(command, inv, 'stderr'),
      CommandPlugins: body.Details
        ? [
            {
              Name: PLUGINS[command.documentName]?.plugin ?? '',
              // no Delayed or Cancelling at plugin level (§2.9)
              Status:
                inv.status === 'Delayed' || inv.status === 'Cancelling' ? 'InProgress' : shownStatus(inv),
              StatusDetails: inv.statusDetails,
              ResponseCode: inv.responseCode,
              ...(inv.executionStartDateTime
                ? { ResponseStartDateTime: epoch(inv.executionStartDateTime) }
                : {}),
              ...(inv.executionEndDateTime
                ? { ResponseFinishDateTime: epoch(inv.executionEndDateTime) }
                : {}),
              Output: isFinished(inv) ? (inv.output ?? '') : '',
              StandardOutputUrl: s3Url(command, inv, 'stdout'),
              StandardErrorUrl: s3Url(command, inv, 'stderr'),
              OutputS3Region: state.region,
              OutputS3BucketName: command.outputS3BucketName ?? '',
              OutputS3KeyPrefix: command.outputS3KeyPrefix ?? '',
            },
          ]
        : [],
      CloudWatchOutputConfig: {
        CloudWatchLogGroupName: command.cloudWatchLogGroupName ?? '',
        CloudWatchOutputEnabled: command.cloudWatchLogGroupName !== undefined,
      },
    })),
    ...(p.nextToken ? { NextToken: p.nextToken } : {}),
  }
}

export function listCommands(state: SandboxState, body: Body) {
  new Checker(body).length('CommandId', 36, 36).range('MaxResults', 1, 50).length('Filters', 1, 5).done()
  const filters = (body.Filters as Filter[] | undefined) ?? []
  checkFilters(filters, ['InvokedAfter', 'InvokedBefore', 'Status', 'ExecutionStage', 'DocumentName'])
  if (body.CommandId !== undefined && !state.commands.has(body.CommandId as string))
    throw awsError('InvalidCommandId')
  const shapes = [...state.commands.values()]
    .filter((c) => body.CommandId === undefined || c.commandId === body.CommandId)
    .filter((c) => body.InstanceId === undefined || c.invocations.has(body.InstanceId as string))
    .map(commandShape)
    .filter((c) =>
      filters.every((f) => {
        const v = f.value ?? ''
        if (f.key === 'Status') return c.Status === v || c.StatusDetails.replace(/ /g, '') === v
        if (f.key === 'ExecutionStage')
          return v === 'Executing'
            ? ['Pending', 'InProgress', 'Cancelling'].includes(c.Status)
            : !['Pending', 'InProgress', 'Cancelling'].includes(c.Status)
        if (f.key === 'DocumentName') return c.DocumentName === v
        if (f.key === 'InvokedAfter') return c.RequestedDateTime * 1000 >= Date.parse(v)
        if (f.key === 'InvokedBefore') return c.RequestedDateTime * 1000 <= Date.parse(v)
        return true
      }),
    )
    // newest first, as the console lists them [U]
    .reverse()
  const p = page(
    'ListCommands',
    shapes,
    decodeToken('ListCommands', body.NextToken),
    (body.MaxResults as number | undefined) ?? 50,
  )
  return { Commands: p.items, ...(p.nextToken ? { NextToken: p.nextToken } : {}) }
}

export function cancelCommand(state: SandboxState, body: Body) {
  new Checker(body).required('CommandId').length('CommandId', 36, 36).length('InstanceIds', 0, 50).done()
  const command = state.commands.get(body.CommandId as string)
  if (!command) throw awsError('InvalidCommandId')
  const ids = body.InstanceIds as string[] | undefined
  if (ids) {
    if (new Set(ids).size !== ids.length) throw awsError('DuplicateInstanceId')
    const bad = ids.filter((id) => !command.invocations.has(id))
    if (bad.length > 0)
      throw awsError('InvalidInstanceId', `Instances [[${bad.join(', ')}]] are not part of this command`)
  }
  cancelInvocations(command, ids?.length ? ids : undefined)
  return {}
}
