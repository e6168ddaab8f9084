// A session on a real agent: the service side of MGS only relays (agent-service-protocol.md §5). It
// checks tokens (done by the caller), buffers whichever side is not there yet, and forwards every frame
// between the client's socket and the agent's unchanged — acknowledgements, retransmission and the
// handshake are end to end between the client and amazon-ssm-agent. The service owns the socket
// recycle, channel_closed, the idle timeout, and the faults, which act here so they reach a real agent.
import type WebSocket from 'ws'
import { MessageType } from '../../protocol/constants.ts'
import { decodeMessage } from '../../protocol/message.ts'
import { encodeChannelClosed } from '../../protocol/payloads.ts'
import type { Log } from '../../support/log.ts'
import type { Faults } from '../faults.ts'
import { FrameFaults } from '../frame-faults.ts'
import type { SimSession } from '../model.ts'

/** Frames kept for a side that is not connected; past this the oldest go (their sender resends them). */
const BUFFER_LIMIT = 4096

export interface RelayOptions {
  faults: Faults
  random: () => number
  idleTimeoutMs: number
  log?: Log
  /** tell the agent the session is over (channel_closed on its control channel) */
  cancelOnAgent: (session: SimSession) => void
  onEnd: () => void
}

export class SessionRelay {
  readonly session: SimSession
  readonly #opts: RelayOptions
  #client: WebSocket | undefined
  #agent: WebSocket | undefined
  #toClient: Buffer[] = []
  #toAgent: Buffer[] = []
  readonly #faults: FrameFaults
  #faultTimers: NodeJS.Timeout[] = []
  #idle: NodeJS.Timeout | undefined
  #ended = false

  constructor(session: SimSession, opts: RelayOptions) {
    this.session = session
    this.#opts = opts
    this.#faults = new FrameFaults(opts.faults, opts.random)
    session.terminate = (reason) =>
      this.end(reason === 'session terminated by TerminateSession' ? '' : reason, 'Terminated', true)
    this.#touch()
  }

  get ended(): boolean {
    return this.#ended
  }

  /** The agent's data channel (after CreateDataChannel and its open frame); a reconnect replaces it. */
  attachAgent(ws: WebSocket): void {
    if (this.#ended) {
      ws.close(1000)
      return
    }
    const previous = this.#agent
    this.#agent = ws
    if (previous && previous !== ws) previous.terminate()
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.#fromAgent(data)
    })
    ws.on('close', () => {
      if (this.#agent === ws) this.#agent = undefined
    })
    const queued = this.#toAgent
    this.#toAgent = []
    for (const frame of queued) ws.send(frame)
    this.#updateStatus()
  }

  /** A client socket that passed the open-frame and token checks; a second one replaces the first. */
  attachClient(ws: WebSocket): void {
    if (this.#ended) {
      ws.close(1000)
      return
    }
    const previous = this.#client
    this.#client = ws
    if (previous && previous.readyState === previous.OPEN) previous.terminate()
    for (const t of this.#faultTimers) clearInterval(t)
    this.#faultTimers = []
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.#fromClient(data)
    })
    ws.on('close', () => {
      if (this.#client !== ws) return
      this.#client = undefined
      if (!this.#ended) this.session.status = 'Disconnected'
    })
    this.#faultTimers = this.#faults.cutTimers(ws)
    const queued = this.#toClient
    this.#toClient = []
    for (const frame of queued) this.#sendToClient(frame)
    this.#updateStatus()
  }

  #updateStatus(): void {
    if (this.#ended) return
    this.session.status =
      this.#client && this.#agent ? 'Connected' : this.#client ? 'Connecting' : 'Disconnected'
  }

  #fromAgent(frame: Buffer): void {
    let type: string
    try {
      type = decodeMessage(frame).messageType
    } catch {
      return
    }
    // The agent's own word to the service, not the client's business
    if (type === 'agent_session_state') return
    if (type === MessageType.OutputStreamData) this.#touch()
    const client = this.#client
    if (!client || client.readyState !== client.OPEN) {
      this.#queue(this.#toClient, frame)
      return
    }
    this.#sendToClient(frame)
  }

  /** Frames to the client pass through the fault injector (drop, duplicate, reorder). */
  #sendToClient(frame: Buffer): void {
    const ws = this.#client
    if (!ws || ws.readyState !== ws.OPEN) return
    this.#faults.toClient(ws, frame)
  }

  #fromClient(frame: Buffer): void {
    this.#faults.fromClient(frame, (f) => this.#sendToAgent(f))
  }

  #sendToAgent(frame: Buffer): void {
    const agent = this.#agent
    if (!agent || agent.readyState !== agent.OPEN) {
      this.#queue(this.#toAgent, frame)
      return
    }
    agent.send(frame)
  }

  #queue(queue: Buffer[], frame: Buffer): void {
    queue.push(frame)
    if (queue.length > BUFFER_LIMIT) queue.shift()
  }

  #touch(): void {
    clearTimeout(this.#idle)
    this.#idle = setTimeout(
      () => this.end('Session timed out due to inactivity.', 'Terminated', true),
      this.#opts.idleTimeoutMs,
    )
    this.#idle.unref()
  }

  /**
   * The session is over: channel_closed with `output` to the client, then close 1000. `cancel` when the
   * service ends it (TerminateSession, idle): the agent is told on its control channel and data channel.
   */
  end(output: string, status: 'Terminated' | 'Failed' = 'Terminated', cancel = false): void {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#idle)
    for (const t of this.#faultTimers) clearInterval(t)
    const closed = encodeChannelClosed({
      sessionId: this.session.sessionId,
      destinationId: this.session.target,
      output,
      createdDate: Date.now(),
    })
    const client = this.#client
    if (client && client.readyState === client.OPEN) {
      client.send(closed)
      client.close(1000)
    }
    if (cancel) {
      this.#opts.cancelOnAgent(this.session)
      const agent = this.#agent
      if (agent && agent.readyState === agent.OPEN) agent.send(closed)
    }
    // the agent closes its own socket when its session worker ends; do not wait for it
    setTimeout(() => this.#agent?.terminate(), 3_000).unref()
    this.session.status = status
    this.session.endDate = new Date()
    this.#opts.onEnd()
  }

  /** Sandbox shutdown: drop both sockets. */
  close(): void {
    this.#ended = true
    clearTimeout(this.#idle)
    for (const t of this.#faultTimers) clearInterval(t)
    this.#client?.terminate()
    this.#agent?.terminate()
  }
}
