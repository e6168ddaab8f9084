// The MGS (ssmmessages) side that real agents talk to, agent-service-protocol.md §3–§5: the
// CreateControlChannel / CreateDataChannel REST calls, the control channel of each instance
// (interactive_shell, agent_job, channel_closed out; agent_job_ack/_reply, agent_task_complete in),
// the agent's data-channel sockets, and one SessionRelay per session on a real instance.
import { randomBytes, randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type WebSocket from 'ws'
import { decodeMessage, encodeMessage } from '../../protocol/message.ts'
import type { Log } from '../../support/log.ts'
import { ApiError } from '../api/errors.ts'
import { verifySignature } from '../api/sigv4.ts'
import type { Faults } from '../faults.ts'
import type { CommandStatus, SandboxState, SimSession } from '../model.ts'
import { runShellScriptDocument, sessionDocumentFor } from './documents.ts'
import { SessionRelay } from './relay.ts'

const OPEN_FRAME_TIMEOUT_MS = 10_000

export interface HubOptions {
  faults: Faults
  random: () => number
  idleTimeoutMs: number
  log?: Log
}

export interface JobResult {
  exitCode: number
  stdout: string
  stderr: string
  status: CommandStatus
}

interface PendingJob {
  resolve: (r: JobResult) => void
  timer: NodeJS.Timeout
}

type Token = { kind: 'control'; instanceId: string } | { kind: 'data'; sessionId: string }

const tokenXml = (token: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><CreateChannelResponse><MessageSchemaVersion>1.0</MessageSchemaVersion><TokenValue>${token}</TokenValue></CreateChannelResponse>`

/** One agent message on the control channel (schema 1, sequence 0, no flags, payload type 0). */
function controlFrame(messageType: string, payload: unknown): Buffer {
  return encodeMessage({
    messageType,
    sequenceNumber: 0,
    flags: 0,
    payloadType: 0,
    payload: Buffer.from(JSON.stringify(payload)),
  })
}

export class AgentHub {
  readonly #state: SandboxState
  readonly #opts: HubOptions
  readonly #tokens = new Map<string, Token>()
  readonly #controls = new Map<string, WebSocket>()
  readonly #relays = new Map<string, SessionRelay>()
  readonly #jobs = new Map<string, PendingJob>()
  readonly #online = new Map<string, Array<() => void>>()
  /** instances whose agent has reported Online at least once */
  readonly #pinged = new Set<string>()

  constructor(state: SandboxState, opts: HubOptions) {
    this.#state = state
    this.#opts = opts
  }

  isConnected(instanceId: string): boolean {
    const ws = this.#controls.get(instanceId)
    return ws !== undefined && ws.readyState === ws.OPEN
  }

  /** Resolves once the instance's agent has pinged and holds an open control channel. */
  waitOnline(instanceId: string): Promise<void> {
    const instance = this.#state.instances.get(instanceId)
    if (instance?.pingStatus === 'Online' && this.isConnected(instanceId)) return Promise.resolve()
    return new Promise((resolve) => {
      const list = this.#online.get(instanceId) ?? []
      list.push(resolve)
      this.#online.set(instanceId, list)
    })
  }

  /** Called by UpdateInstanceInformation and the control channel: wake who waits for this instance. */
  notifyOnline(instanceId: string): void {
    const instance = this.#state.instances.get(instanceId)
    if (instance?.pingStatus === 'Online') this.#pinged.add(instanceId)
    if (instance?.pingStatus !== 'Online' || !this.isConnected(instanceId)) return
    for (const resolve of this.#online.get(instanceId) ?? []) resolve()
    this.#online.delete(instanceId)
  }

  /** POST /v1/control-channel/{id} and /v1/data-channel/{id}: SigV4 (ssmmessages), 201 with a token. */
  handleRest(req: IncomingMessage, res: ServerResponse, body: Buffer): boolean {
    const path = (req.url ?? '/').split('?')[0] as string
    const m = /^\/v1\/(control-channel|data-channel)\/([^/]+)$/.exec(path)
    if (!m || req.method !== 'POST') return false
    const kind = m[1] as string
    const id = decodeURIComponent(m[2] as string)
    try {
      const { service } = verifySignature(
        { method: 'POST', path, headers: req.headers, body },
        this.#state,
        'json',
        this.#state.now(),
      )
      if (service !== 'ssmmessages')
        throw new ApiError(
          'InvalidSignatureException',
          "Credential should be scoped to correct service: 'ssmmessages'.",
          403,
        )
      JSON.parse(body.toString('utf8') || '{}')
    } catch (error) {
      const e =
        error instanceof ApiError ? error : new ApiError('BadRequestException', 'invalid request', 400)
      res.writeHead(e.status, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ message: e.message }))
      return true
    }
    const token = randomBytes(48).toString('base64url')
    if (kind === 'control-channel') {
      if (this.#state.instances.get(id)?.agent !== 'real') {
        res.writeHead(400, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ message: `Instance ${id} is not registered` }))
        return true
      }
      this.#tokens.set(token, { kind: 'control', instanceId: id })
    } else {
      const session = this.#state.sessions.get(id)
      if (!session || session.status === 'Terminated' || session.status === 'Failed') {
        res.writeHead(400, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ message: 'Session is already terminated' }))
        return true
      }
      this.#tokens.set(token, { kind: 'data', sessionId: id })
    }
    const xml = tokenXml(token)
    res.writeHead(201, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) })
    res.end(xml)
    return true
  }

  /** The agent's control-channel socket: its first text frame carries the CreateControlChannel token. */
  acceptControlChannel(ws: WebSocket, instanceId: string): void {
    const timer = setTimeout(() => ws.terminate(), OPEN_FRAME_TIMEOUT_MS)
    ws.once('message', (data: Buffer, isBinary: boolean) => {
      clearTimeout(timer)
      let token = ''
      let agentVersion: string | undefined
      try {
        const open = JSON.parse(data.toString('utf8')) as { TokenValue?: string; AgentVersion?: string }
        token = isBinary ? '' : (open.TokenValue ?? '')
        agentVersion = open.AgentVersion
      } catch {
        // falls through as an invalid token
      }
      const entry = this.#tokens.get(token)
      if (entry?.kind !== 'control' || entry.instanceId !== instanceId) {
        ws.close(1008, 'invalid token')
        return
      }
      this.#tokens.delete(token)
      const previous = this.#controls.get(instanceId)
      this.#controls.set(instanceId, ws)
      if (previous && previous !== ws) previous.terminate()
      const instance = this.#state.instances.get(instanceId)
      if (instance && agentVersion) instance.agentVersion = agentVersion
      // an open control channel is an agent that reaches the service: Online again after a lost one
      // (a node that has pinged before; a new one waits for its first UpdateInstanceInformation)
      if (instance && this.#pinged.has(instanceId)) {
        instance.pingStatus = 'Online'
        instance.lastPingDateTime = this.#state.now()
      }
      this.#opts.log?.debug(`sandbox mgs: control channel of ${instanceId} open`)
      ws.on('message', (frame: Buffer, binary: boolean) => {
        if (binary) this.#onControlMessage(ws, instanceId, frame)
      })
      ws.on('close', () => {
        if (this.#controls.get(instanceId) !== ws) return
        this.#controls.delete(instanceId)
        const inst = this.#state.instances.get(instanceId)
        if (inst) inst.pingStatus = 'ConnectionLost'
      })
      this.notifyOnline(instanceId)
    })
    ws.on('error', () => {})
  }

  /** A deregistered node: its agent's control channel is dropped (and a new one is refused). */
  disconnect(instanceId: string): void {
    this.#controls.get(instanceId)?.terminate()
    this.#controls.delete(instanceId)
  }

  /** Is this the token of an agent's data channel? Then the relay takes the socket. */
  acceptAgentDataChannel(ws: WebSocket, sessionId: string, token: string): boolean {
    const entry = this.#tokens.get(token)
    if (entry?.kind !== 'data') return false
    this.#tokens.delete(token)
    const relay = this.#relays.get(entry.sessionId)
    if (!relay || entry.sessionId !== sessionId) {
      ws.close(1008, 'session not found')
      return true
    }
    relay.attachAgent(ws)
    return true
  }

  /** StartSession on a real instance: a relay, and interactive_shell on the agent's control channel. */
  startSession(session: SimSession): boolean {
    const ws = this.#controls.get(session.target)
    if (!ws || ws.readyState !== ws.OPEN) return false
    const relay = new SessionRelay(session, {
      faults: this.#opts.faults,
      random: this.#opts.random,
      idleTimeoutMs: this.#opts.idleTimeoutMs,
      ...(this.#opts.log ? { log: this.#opts.log } : {}),
      cancelOnAgent: (s) => this.#sendChannelClosed(s),
      onEnd: () => this.#relays.delete(session.sessionId),
    })
    this.#relays.set(session.sessionId, relay)
    // --faults stall: the agent is never told, so no handshake ever starts
    if (this.#opts.faults.stall) return true
    const content = {
      DocumentName: session.documentName,
      DocumentContent: sessionDocumentFor(session),
      SessionId: session.sessionId,
      Parameters: session.parameters,
      RunAsUser: '',
      SessionOwner: session.owner,
    }
    ws.send(
      controlFrame('interactive_shell', {
        Content: JSON.stringify(content),
        TaskId: session.sessionId,
        Topic: 'aws.ssm.startSession',
        SchemaVersion: 1,
      }),
    )
    return true
  }

  relayOf(sessionId: string): SessionRelay | undefined {
    return this.#relays.get(sessionId)
  }

  #sendChannelClosed(session: SimSession): void {
    const ws = this.#controls.get(session.target)
    if (!ws || ws.readyState !== ws.OPEN) return
    ws.send(
      controlFrame('channel_closed', {
        MessageType: 'channel_closed',
        MessageId: randomUUID(),
        DestinationId: session.target,
        SessionId: session.sessionId,
        SchemaVersion: 1,
        CreatedDate: new Date().toISOString(),
      }),
    )
  }

  /** Run Command on a real agent: agent_job out, agent_job_reply in (the final one settles it). */
  runCommand(
    instanceId: string,
    commandId: string,
    parameters: Record<string, string[]>,
    timeoutSeconds: number,
    signal?: AbortSignal,
  ): Promise<JobResult> {
    const ws = this.#controls.get(instanceId)
    if (!ws || ws.readyState !== ws.OPEN) {
      return Promise.resolve({
        exitCode: -1,
        stdout: '',
        stderr: '',
        status: 'Undeliverable' as CommandStatus,
      })
    }
    const jobId = `aws.ssm.${commandId}.${instanceId}`
    const content = {
      Parameters: parameters,
      DocumentContent: runShellScriptDocument(parameters),
      CommandId: commandId,
      DocumentName: 'AWS-RunShellScript',
      OutputS3KeyPrefix: '',
      OutputS3BucketName: '',
      CloudWatchLogGroupName: '',
      CloudWatchOutputEnabled: 'false',
    }
    return new Promise((resolve) => {
      // the agent enforces executionTimeout itself; this only guards against a lost agent
      const timer = setTimeout(
        () => {
          this.#jobs.delete(jobId)
          resolve({ exitCode: -1, stdout: '', stderr: '', status: 'TimedOut' })
        },
        (timeoutSeconds + 60) * 1000,
      )
      timer.unref()
      this.#jobs.set(jobId, { resolve, timer })
      ws.send(
        controlFrame('agent_job', {
          Content: JSON.stringify(content),
          JobId: jobId,
          Topic: 'aws.ssm.sendCommand',
          SchemaVersion: 1,
        }),
      )
      // CancelCommand: a cancel job naming the send job (amazon-ssm-agent runcommand CancelPayload);
      // the agent kills the script and replies to the send job with Cancelled
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.#jobs.has(jobId) || ws.readyState !== ws.OPEN) return
          ws.send(
            controlFrame('agent_job', {
              Content: JSON.stringify({ CancelMessageId: jobId }),
              JobId: `aws.ssm.${randomUUID()}.${instanceId}`,
              Topic: 'aws.ssm.cancelCommand',
              SchemaVersion: 1,
            }),
          )
        },
        { once: true },
      )
    })
  }

  #onControlMessage(ws: WebSocket, instanceId: string, frame: Buffer): void {
    let type: string
    let messageId: string
    let payload: Record<string, unknown>
    try {
      const m = decodeMessage(frame)
      type = m.messageType
      messageId = m.messageId
      payload = JSON.parse(m.payload.toString('utf8')) as Record<string, unknown>
    } catch (error) {
      this.#opts.log?.debug(
        `sandbox mgs: bad control message from ${instanceId}: ${(error as Error).message}`,
      )
      return
    }
    this.#opts.log?.debug(`sandbox mgs: ${instanceId} sent ${type}`)
    switch (type) {
      case 'agent_job_reply': {
        const jobId = String(payload.jobId ?? '')
        ws.send(controlFrame('agent_job_reply_ack', { jobId, acknowledgedMessageId: messageId }))
        this.#onJobReply(jobId, String(payload.content ?? ''))
        return
      }
      case 'agent_task_complete':
      case 'agent_task_reply': {
        const taskId = String(payload.TaskId ?? '')
        ws.send(
          controlFrame('agent_task_acknowledge', {
            SchemaVersion: 1,
            MessageId: messageId,
            TaskId: taskId,
            Topic: String(payload.Topic ?? type),
          }),
        )
        if (type === 'agent_task_complete') {
          const status = String(payload.FinalTaskStatus ?? '')
          const relay = this.#relays.get(taskId)
          relay?.end(
            status === 'Success' ? '' : String(payload.Output ?? ''),
            status === 'Failed' ? 'Failed' : 'Terminated',
          )
        }
        return
      }
      default:
        return
    }
  }

  #onJobReply(jobId: string, contentText: string): void {
    const job = this.#jobs.get(jobId)
    if (!job) return
    let content: {
      documentStatus?: string
      runtimeStatus?: Record<
        string,
        { status?: string; code?: number; standardOutput?: string; standardError?: string; output?: string }
      >
    }
    try {
      content = JSON.parse(contentText)
    } catch {
      return
    }
    const status = content.documentStatus ?? ''
    if (['', 'InProgress', 'Pending'].includes(status)) return
    const plugin = Object.values(content.runtimeStatus ?? {})[0] ?? {}
    clearTimeout(job.timer)
    this.#jobs.delete(jobId)
    job.resolve({
      exitCode: plugin.code ?? (status === 'Success' ? 0 : 1),
      stdout: plugin.standardOutput ?? plugin.output ?? '',
      stderr: plugin.standardError ?? '',
      status: (['Success', 'Failed', 'TimedOut', 'Cancelled'].includes(status)
        ? status
        : 'Failed') as CommandStatus,
    })
  }

  close(): void {
    for (const relay of this.#relays.values()) relay.close()
    this.#relays.clear()
    for (const ws of this.#controls.values()) ws.terminate()
    this.#controls.clear()
    for (const job of this.#jobs.values()) clearTimeout(job.timer)
    this.#jobs.clear()
  }
}
