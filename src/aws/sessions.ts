// Session Manager session lifecycle: StartSession / ResumeSession / TerminateSession, through
// clients.ssmCall rather than SSMClient: these are proxy's hot path (ssm-rpc.ts says why).

import { SessionGoneError } from '../support/errors.ts'
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
  try {
    const out = (await clients.ssmCall('StartSession', {
      Target: request.target,
      DocumentName: request.documentName,
      ...(request.parameters ? { Parameters: request.parameters } : {}),
      ...(request.reason ? { Reason: request.reason } : {}),
    })) as { SessionId?: string; TokenValue?: string; StreamUrl?: string }
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
  try {
    const out = (await clients.ssmCall('ResumeSession', { SessionId: sessionId })) as {
      TokenValue?: string
      StreamUrl?: string
    }
    // the plugin's reading of an empty token: the session is over on the service ("Session … timed out")
    if (!out.TokenValue || !out.StreamUrl) throw sessionGone(sessionId)
    return { sessionId, tokenValue: out.TokenValue, streamUrl: out.StreamUrl }
  } catch (error) {
    if ((error as { name?: string }).name === 'DoesNotExistException') throw sessionGone(sessionId, error)
    throw translateAwsError(error, { operation: `ResumeSession ${sessionId}` })
  }
}

export async function terminateSession(clients: AwsClients, sessionId: string): Promise<void> {
  try {
    await clients.ssmCall('TerminateSession', { SessionId: sessionId })
  } catch (error) {
    throw translateAwsError(error, { operation: `TerminateSession ${sessionId}` })
  }
}

function sessionGone(sessionId: string, cause?: unknown): SessionGoneError {
  return new SessionGoneError(`session ${sessionId} timed out: the service no longer resumes it`, {
    hint: 'connect again (an idle session ends after the idle timeout of the Session Manager preferences)',
    ...(cause === undefined ? {} : { cause }),
  })
}
