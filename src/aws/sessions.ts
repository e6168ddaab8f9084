// Session Manager session lifecycle: StartSession / ResumeSession / TerminateSession.
import { ResumeSessionCommand, StartSessionCommand, TerminateSessionCommand } from '@aws-sdk/client-ssm'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'

export interface SessionTicket {
  sessionId: string
  tokenValue: string
  streamUrl: string
}

export interface StartSessionRequest {
  target: string
  documentName: string
  parameters?: Record<string, string[]>
  reason?: string
}

export async function startSession(
  clients: AwsClients,
  request: StartSessionRequest,
): Promise<SessionTicket & { raw: object }> {
  const ssm = await clients.ssm()
  try {
    const out = await ssm.send(
      new StartSessionCommand({
        Target: request.target,
        DocumentName: request.documentName,
        ...(request.parameters ? { Parameters: request.parameters } : {}),
        ...(request.reason ? { Reason: request.reason } : {}),
      }),
    )
    if (!out.SessionId || !out.TokenValue || !out.StreamUrl) {
      throw new Error('StartSession answered without SessionId, TokenValue or StreamUrl')
    }
    return {
      sessionId: out.SessionId,
      tokenValue: out.TokenValue,
      streamUrl: out.StreamUrl,
      raw: { SessionId: out.SessionId, TokenValue: out.TokenValue, StreamUrl: out.StreamUrl },
    }
  } catch (error) {
    throw translateAwsError(error, {
      operation: `StartSession on ${request.target}`,
      ...(clients.settings.profile ? { profile: clients.settings.profile } : {}),
    })
  }
}

export async function resumeSession(clients: AwsClients, sessionId: string): Promise<SessionTicket> {
  const ssm = await clients.ssm()
  try {
    const out = await ssm.send(new ResumeSessionCommand({ SessionId: sessionId }))
    if (!out.TokenValue || !out.StreamUrl)
      throw new Error('ResumeSession answered without TokenValue or StreamUrl')
    return { sessionId, tokenValue: out.TokenValue, streamUrl: out.StreamUrl }
  } catch (error) {
    throw translateAwsError(error, { operation: `ResumeSession ${sessionId}` })
  }
}

export async function terminateSession(clients: AwsClients, sessionId: string): Promise<void> {
  const ssm = await clients.ssm()
  try {
    await ssm.send(new TerminateSessionCommand({ SessionId: sessionId }))
  } catch (error) {
    throw translateAwsError(error, { operation: `TerminateSession ${sessionId}` })
  }
}
