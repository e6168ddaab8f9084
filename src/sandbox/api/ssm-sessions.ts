// StartSession / ResumeSession / TerminateSession / DescribeSessions — aws-api-notes.md §2.2–§2.5, §3.

import { randomBytes } from 'node:crypto'
import { compareVersions } from '../../support/version-compare.ts'
import type { Principal } from '../credentials.ts'
import type { SandboxState, SimSession } from '../model.ts'
import { ApiError, awsError } from './errors.ts'
import { decodeToken, page } from './pagination.ts'
import { type Body, Checker } from './validate.ts'

/** Session documents and the oldest agent that runs them (aws-api-notes.md §3). */
export const sessionDocuments: Record<string, { minAgent: string; required: string[] }> = {
  'SSM-SessionManagerRunShell': { minAgent: '2.3.68.0', required: [] },
  'AWS-StartSSHSession': { minAgent: '2.3.672.0', required: [] },
  'AWS-StartPortForwardingSession': { minAgent: '2.3.672.0', required: [] },
  'AWS-StartPortForwardingSessionToRemoteHost': { minAgent: '3.1.1374.0', required: ['host'] },
}

const PORT = /^([1-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$/

const newToken = () => `AAEAA${randomBytes(150).toString('base64')}`

function streamUrl(endpoint: string, sessionId: string): string {
  return `${endpoint.replace(/^http/, 'ws')}/v1/data-channel/${sessionId}?role=publish_subscribe`
}

/** Session ids start with the user name, or a role session's name, as the service makes them. */
function sessionPrefix(caller: Principal): string {
  return caller.userName ?? caller.arn.split('/').pop() ?? 'session'
}

export function startSession(
  state: SandboxState,
  body: Body,
  endpoint: string,
  caller: Principal,
  agents?: { startSession(session: SimSession): boolean },
) {
  new Checker(body)
    .required('Target')
    .length('Target', 1, 400)
    .pattern('DocumentName', /^[a-zA-Z0-9_\-.:/]{3,128}$/)
    .pattern('Reason', /^.{1,256}$/)
    .done()
  const documentName = (body.DocumentName as string | undefined) ?? 'SSM-SessionManagerRunShell'
  const doc = sessionDocuments[documentName]
  if (!doc) throw awsError('InvalidDocument', "The specified SSM document doesn't exist")
  const parameters = (body.Parameters as Record<string, string[]> | undefined) ?? {}
  for (const name of doc.required) {
    if (!parameters[name]?.length) throw awsError('InvalidParameters', `Missing required parameter: ${name}`)
  }
  const port = parameters.portNumber?.[0]
  if (port !== undefined && !PORT.test(port))
    throw awsError('InvalidParameters', `Parameter "portNumber" "${port}" failed to satisfy constraint`)
  const target = body.Target as string
  const instance = state.instances.get(target)
  // Session Manager reaches hybrid nodes only on the advanced-instances tier (seed 004)
  if (instance?.kind === 'hybrid' && state.activationTier.value !== 'advanced')
    throw new ApiError(
      'BadRequest',
      'Enable advanced-instances tier to use Session Manager with your on-premises instances',
      400,
      'message',
    )
  // AWS answers TargetNotConnected for offline nodes, for agents too old for the document, and for
  // ids of other accounts or Regions alike (§2.2).
  const connected =
    instance?.pingStatus === 'Online' && compareVersions(instance.agentVersion, doc.minAgent) >= 0
  if (!connected) {
    throw awsError('TargetNotConnected', `${target} is not connected.`)
  }
  const sessionId = `${sessionPrefix(caller)}-${randomBytes(9).toString('hex').slice(0, 17)}`
  const session: SimSession = {
    sessionId,
    target,
    documentName,
    parameters,
    ...(body.Reason ? { reason: body.Reason as string } : {}),
    owner: caller.arn,
    tokenValue: newToken(),
    tokenUsed: false,
    status: 'Connecting',
    startDate: state.now(),
  }
  // The agent is told now and opens its side (a real one over its control channel; without one it
  // is not connected after all)
  state.sessions.set(sessionId, session)
  if (agents && !agents.startSession(session)) {
    state.sessions.delete(sessionId)
    throw awsError('TargetNotConnected', `${target} is not connected.`)
  }
  return { SessionId: sessionId, TokenValue: session.tokenValue, StreamUrl: streamUrl(endpoint, sessionId) }
}

export function resumeSession(state: SandboxState, body: Body, endpoint: string) {
  new Checker(body).required('SessionId').length('SessionId', 1, 96).done()
  const session = state.sessions.get(body.SessionId as string)
  if (
    !session ||
    session.status === 'Terminated' ||
    session.status === 'Failed' ||
    session.status === 'Terminating'
  ) {
    throw awsError('DoesNotExistException', `Session with id ${body.SessionId} does not exist.`)
  }
  session.tokenValue = newToken()
  session.tokenUsed = false
  return {
    SessionId: session.sessionId,
    TokenValue: session.tokenValue,
    StreamUrl: streamUrl(endpoint, session.sessionId),
  }
}

export function terminateSession(state: SandboxState, body: Body) {
  new Checker(body).required('SessionId').length('SessionId', 1, 96).done()
  const session = state.sessions.get(body.SessionId as string)
  if (session && session.status !== 'Terminated' && session.status !== 'Failed') {
    if (session.terminate) session.terminate('session terminated by TerminateSession')
    else {
      session.status = 'Terminated'
      session.endDate = state.now()
    }
  }
  // The model declares no not-found error: unknown ids succeed too [U] (§2.3)
  return { SessionId: body.SessionId }
}

const sessionFilterKeys = [
  'InvokedAfter',
  'InvokedBefore',
  'Target',
  'Owner',
  'Status',
  'SessionId',
  'AccessType',
]

export function describeSessions(state: SandboxState, body: Body) {
  new Checker(body)
    .required('State')
    .oneOf('State', ['Active', 'History'])
    .range('MaxResults', 1, 200)
    .length('Filters', 1, 6)
    .done()
  const filters = (body.Filters as Array<{ key?: string; value?: string }> | undefined) ?? []
  for (const f of filters) if (!sessionFilterKeys.includes(f.key ?? '')) throw awsError('InvalidFilterKey')
  const active = body.State === 'Active'
  const list = [...state.sessions.values()].filter((s) => {
    const ended = s.status === 'Terminated' || s.status === 'Failed'
    if (active === ended) return false
    return filters.every((f) => {
      const v = f.value ?? ''
      switch (f.key) {
        case 'Target':
          return s.target === v
        case 'Owner':
          return s.owner === v
        case 'Status':
          return s.status === v
        case 'SessionId':
          return s.sessionId === v
        case 'InvokedAfter':
          return s.startDate.getTime() >= Date.parse(v)
        case 'InvokedBefore':
          return s.startDate.getTime() <= Date.parse(v)
        default:
          return true
      }
    })
  })
  const p = page(
    'DescribeSessions',
    list,
    decodeToken('DescribeSessions', body.NextToken),
    (body.MaxResults as number | undefined) ?? 20,
  )
  return {
    Sessions: p.items.map((s) => ({
      SessionId: s.sessionId,
      Target: s.target,
      Status: s.status,
      StartDate: s.startDate.getTime() / 1000,
      ...(s.endDate ? { EndDate: s.endDate.getTime() / 1000 } : {}),
      DocumentName: s.documentName,
      Owner: s.owner,
      ...(s.reason ? { Reason: s.reason } : {}),
      AccessType: 'Standard',
    })),
    ...(p.nextToken ? { NextToken: p.nextToken } : {}),
  }
}
