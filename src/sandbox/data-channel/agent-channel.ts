// One session's data channel as the service and the agent play it (session-protocol.md §12.1):
// handshake, then SSH bytes between the client's websocket and the target's TCP connection, with
// acknowledgements, retransmission, pacing, faults, and reconnection on a new socket.
import type { Socket } from 'node:net'
import type WebSocket from 'ws'
import {
  ActionStatus,
  ActionType,
  FlagCode,
  MessageType,
  PayloadType,
  RESEND_TICK_MS,
  SessionTypeName,
} from '../../protocol/constants.ts'
import { type ClientMessage, parseMessage } from '../../protocol/message.ts'
import {
  encodeChannelClosed,
  encodeFlag,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
  parseAcknowledgeContent,
  parseHandshakeResponse,
  tryParseFlag,
} from '../../protocol/payloads.ts'
import { chunk, ReliableStream } from '../../protocol/stream.ts'
import type { Log } from '../../support/log.ts'
import { compareVersions } from '../../support/version-compare.ts'
import type { Faults } from '../faults.ts'
import { FrameFaults } from '../frame-faults.ts'
import { sessionDocumentFor } from '../mgs/documents.ts'
import type { SimSession } from '../model.ts'
import { agentSendsSmuxKeepalive, MuxPort } from './mux-port.ts'

/**
 * Target bytes read but not yet sent, in messages, past which the simulated agent stops reading the
 * target: TCP backpressure on a paced sender. The agent has no window of unacknowledged messages: it
 * sends whatever it reads, ≤1024 bytes each 1 ms (port_basic.go WritePump).
 */
export const AGENT_READ_AHEAD_MESSAGES = 256
/** Frames the service keeps for a client that is away (ResumeSession), as the relay does for real agents. */
const SERVICE_BUFFER_LIMIT = 4096
/** The first client the agent multiplexes port-forwarding sessions for (port.go muxSupportedClientVersion). */
const MUX_CLIENT_VERSION = '1.1.70'
/** The first agent with TCP multiplexing (RELEASENOTES.md 3.0.222.0); older ones have basic mode only. */
const MUX_AGENT_VERSION = '3.0.222.0'
const HANDSHAKE_TIMEOUT_MS = 15_000
/** xtaci/smux DefaultConfig: KeepAliveInterval 10 s, KeepAliveTimeout 30 s */
const SMUX_DEFAULT_KEEPALIVE = { intervalMs: 10_000, timeoutMs: 30_000 }
const DRAIN_BEFORE_CLOSE_MS = 2_000

export interface ChannelOptions {
  faults: Faults
  random: () => number
  pace: boolean
  agentVersion: string
  idleTimeoutMs: number
  /**
   * The port plugin's start (port.go initializeParameters): the destination's dialler, or why the
   * session fails (a forbidden address) before anything is dialled.
   */
  portPlugin: (session: SimSession) => { dial(): Promise<Socket> } | { message: string }
  /** smux keepalive timing when the agent uses it (xtaci defaults: NOP every 10 s, dead after 30 s silent) */
  smuxKeepalive?: { intervalMs: number; timeoutMs: number }
  log?: Log
  onEnd: () => void
}

type Phase = 'handshake' | 'connecting' | 'data' | 'closing' | 'closed'

export class AgentChannel {
  readonly #session: SimSession
  readonly #opts: ChannelOptions
  readonly #stream = new ReliableStream({ now: () => Date.now(), outgoingType: MessageType.OutputStreamData })
  #ws: WebSocket | undefined
  #phase: Phase = 'handshake'
  #target: Socket | undefined
  #pending: Buffer[] = []
  #pumping = false
  readonly #faults: FrameFaults
  /** frames sent while no client socket was attached: the service hands them over on reattach */
  #unsent: Buffer[] = []
  /** mux mode: one destination connection per smux stream */
  #mux: MuxPort | undefined
  /** DisconnectToPort closed the target; the next data dials it again (port_basic.go) */
  #redial = false
  /** one new connection to the document's destination, once the port plugin has started */
  #dial: (() => Promise<Socket>) | undefined
  #tick: NodeJS.Timeout
  #idle: NodeJS.Timeout | undefined
  #handshakeTimer: NodeJS.Timeout | undefined
  #faultTimers: NodeJS.Timeout[] = []
  #startedAt = process.hrtime.bigint()

  constructor(session: SimSession, opts: ChannelOptions) {
    this.#session = session
    this.#opts = opts
    this.#faults = new FrameFaults(opts.faults, opts.random)
    session.terminate = (reason) =>
      void this.end(reason === 'session terminated by TerminateSession' ? '' : reason)
    this.#tick = setInterval(() => this.#onTick(), RESEND_TICK_MS)
    this.#touch()
  }

  get closed(): boolean {
    return this.#phase === 'closed'
  }

  /** A client socket that passed the open-frame and token checks. */
  attach(ws: WebSocket): void {
    const previous = this.#ws
    this.#ws = ws
    // A second socket replaces the first (§12.1 rule 4)
    if (previous && previous.readyState === previous.OPEN)
      previous.close(1000, 'replaced by a new connection')
    for (const t of this.#faultTimers) clearInterval(t)
    this.#faultTimers = []
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.#fromClient(data)
    })
    ws.on('close', () => {
      if (this.#ws !== ws) return
      this.#ws = undefined
      if (this.#phase !== 'closed') this.#session.status = 'Disconnected'
    })
    this.#faultTimers = this.#faults.cutTimers(ws)
    if (this.#phase !== 'closed')
      this.#session.status = this.#phase === 'handshake' ? 'Connecting' : 'Connected'
    // What the agent sent while no client was there (its handshake request, or data across a
    // reconnect) goes now; anything lost on an old socket is resent by the agent's timer, oldest
    // first, one per tick (§7.3, datachannel.go)
    const unsent = this.#unsent
    this.#unsent = []
    for (const frame of unsent) this.#toClient(frame)
  }

  /**
   * The agent has opened its side (right after StartSession's interactive_shell): it starts the
   * handshake now, whether or not the client is connected yet, and gives up 15 s later (§5, §10).
   */
  begin(): void {
    if (this.#stream.nextSequenceNumber !== 0 || this.#phase !== 'handshake') return
    this.#startedAt = process.hrtime.bigint()
    this.#session.status = 'Connecting'
    if (this.#opts.faults.stall) return
    // the agent hands the document's properties back as they are (port.go GetPluginParameters)
    const properties = sessionDocumentFor(this.#session).properties
    this.#sendStream(
      PayloadType.HandshakeRequest,
      encodeHandshakeRequest({
        AgentVersion: this.#opts.agentVersion,
        RequestedClientActions: [
          {
            ActionType: ActionType.SessionType,
            ActionParameters: { SessionType: SessionTypeName.Port, Properties: properties },
          },
        ],
      }),
    )
    this.#handshakeTimer = setTimeout(
      () =>
        void this.end(
          'Handshake timed out. Please ensure that you have the latest version of the session manager plugin.',
          'Failed',
        ),
      HANDSHAKE_TIMEOUT_MS,
    )
    this.#handshakeTimer.unref()
  }

  /** Frames to the client pass through the fault injector (drop, duplicate, reorder). */
  #toClient(frame: Buffer): void {
    const ws = this.#ws
    if (!ws || ws.readyState !== ws.OPEN) {
      this.#unsent.push(frame)
      if (this.#unsent.length > SERVICE_BUFFER_LIMIT) this.#unsent.shift()
      return
    }
    this.#faults.toClient(ws, frame)
  }

  #sendStream(payloadType: number, payload: Uint8Array): void {
    this.#toClient(this.#stream.send(payloadType, payload))
  }

  #fromClient(frame: Buffer): void {
    this.#faults.fromClient(frame, (f) => this.#handleFrame(f))
  }

  #handleFrame(frame: Buffer): void {
    let message: ClientMessage
    try {
      message = parseMessage(frame, 'agent')
    } catch (error) {
      this.#opts.log?.debug(`sandbox agent: dropped a malformed frame (${(error as Error).message})`)
      return
    }
    if (message.messageType === MessageType.Acknowledge) {
      try {
        this.#stream.onAcknowledge(parseAcknowledgeContent(message.payload))
      } catch {
        return
      }
      return
    }
    if (message.messageType !== MessageType.InputStreamData) return
    // Target not connected yet: data is not acked, so the client resends it (§4, ErrHandlerNotReady)
    if (
      this.#phase === 'connecting' &&
      message.payloadType === PayloadType.Output &&
      message.sequenceNumber === this.#stream.expectedSequenceNumber
    )
      return
    const { ack, deliver } = this.#stream.receive(message)
    // The ack goes before anything the message makes the agent say: the agent answers a
    // HandshakeResponse from another goroutine (PerformHandshake), so its ack comes first, and the
    // official plugin, handed HandshakeComplete before the ack of its HandshakeResponse, stalled
    // (resending the response, never reading our output) about one session in two.
    if (ack) this.#toClient(ack)
    for (const m of deliver) this.#onStreamMessage(m)
  }

  #onStreamMessage(m: ClientMessage): void {
    switch (m.payloadType) {
      case PayloadType.HandshakeResponse:
        void this.#onHandshakeResponse(m.payload)
        return
      case PayloadType.Output:
        // Before HandshakeComplete the agent acks and discards data (§12.1 rule 6)
        if (this.#phase === 'data' && this.#mux) {
          this.#touch()
          this.#mux.input(m.payload)
          return
        }
        if (this.#phase === 'data' && this.#redial) {
          this.#redial = false
          void this.#connectTarget([m.payload])
          return
        }
        if (this.#phase === 'data' && this.#target) {
          this.#touch()
          this.#target.write(m.payload)
        }
        return
      case PayloadType.Flag: {
        const code = tryParseFlag(m.payload)
        // the agent closes its connection to the port (not half-closes) and dials again on the next data
        if (code === FlagCode.DisconnectToPort && this.#target) {
          const target = this.#target
          this.#target = undefined
          this.#redial = true
          target.removeAllListeners('close')
          target.destroy()
        }
        if (code === FlagCode.TerminateSession) void this.end('')
        return
      }
      default:
        return
    }
  }

  async #onHandshakeResponse(payload: Buffer): Promise<void> {
    if (this.#phase !== 'handshake') return
    clearTimeout(this.#handshakeTimer)
    let failed: string | undefined
    let clientVersion = ''
    try {
      const response = parseHandshakeResponse(payload)
      clientVersion = response.ClientVersion
      const bad = response.ProcessedClientActions.find((a) => a.ActionStatus !== ActionStatus.Success)
      if (bad)
        failed = `${bad.ActionType} failed on client with status ${bad.ActionStatus} error: ${bad.Error}`
      if (response.ProcessedClientActions.length === 0)
        failed = 'SessionType failed on client: no actions processed'
    } catch (error) {
      failed = `invalid handshake response: ${(error as Error).message}`
    }
    if (failed) {
      await this.end(failed, 'Failed')
      return
    }
    const took = Number(process.hrtime.bigint() - this.#startedAt)
    this.#sendStream(
      PayloadType.HandshakeComplete,
      encodeHandshakeComplete({ HandshakeTimeToComplete: took, CustomerMessage: '' }),
    )
    this.#session.status = 'Connected'
    const plugin = this.#opts.portPlugin(this.#session)
    if ('message' in plugin) {
      await this.end(plugin.message, 'Failed')
      return
    }
    this.#dial = plugin.dial
    // mux for LocalPortForwarding documents on agents that have it and clients ≥ 1.1.70, one TCP
    // connection per smux stream; otherwise one connection, dialled now (port.go GetSession)
    const properties = sessionDocumentFor(this.#session).properties
    if (
      properties.type === 'LocalPortForwarding' &&
      compareVersions(this.#opts.agentVersion, MUX_AGENT_VERSION) >= 0 &&
      compareVersions(clientVersion, MUX_CLIENT_VERSION) >= 0
    ) {
      const keepalive = agentSendsSmuxKeepalive(this.#opts.agentVersion, clientVersion)
      this.#mux = new MuxPort({
        dial: plugin.dial,
        send: (bytes) => {
          this.#touch()
          for (const piece of chunk(bytes)) this.#pending.push(Buffer.from(piece))
          this.#pump()
        },
        flag: (code) => this.#sendStream(PayloadType.Flag, encodeFlag(code)),
        pausedAbove: () => this.#pending.length > AGENT_READ_AHEAD_MESSAGES,
        ...(keepalive
          ? {
              keepalive: this.#opts.smuxKeepalive ?? SMUX_DEFAULT_KEEPALIVE,
              // xtaci closes a silent session; the agent's accept loop then fails and the plugin ends
              onDead: () => void this.end('', 'Failed'),
            }
          : {}),
      })
      this.#phase = 'data'
      return
    }
    this.#phase = 'connecting'
    await this.#connectTarget([])
  }

  /** Dial the document's port (again after DisconnectToPort) and pump what it says to the client. */
  async #connectTarget(first: Buffer[]): Promise<void> {
    try {
      const target = await (this.#dial as () => Promise<Socket>)()
      if (this.#phase !== 'connecting' && this.#phase !== 'data') {
        target.destroy()
        return
      }
      this.#target = target
      this.#phase = 'data'
      for (const data of first) target.write(data)
      target.on('data', (data: Buffer) => {
        this.#touch()
        for (const piece of chunk(data)) this.#pending.push(Buffer.from(piece))
        if (this.#pending.length > AGENT_READ_AHEAD_MESSAGES) target.pause()
        this.#pump()
      })
      target.on('error', () => {})
      target.on('close', () => void this.#onTargetClosed())
    } catch (error) {
      // port_basic.go InitializeSession
      await this.end(`Unable to connect to specified port: ${(error as Error).message}`, 'Failed')
    }
  }

  /** Send queued target bytes, ≤1024 a message, ~1 ms apart when pacing like the agent (§9). */
  #pump(): void {
    if (this.#pumping) return
    this.#pumping = true
    const step = () => {
      while (this.#pending.length > 0) {
        this.#sendStream(PayloadType.Output, this.#pending.shift() as Buffer)
        if (this.#opts.pace) {
          setTimeout(step, 1)
          return
        }
      }
      this.#pumping = false
      if (this.#pending.length < AGENT_READ_AHEAD_MESSAGES / 2) {
        this.#target?.resume()
        this.#mux?.resume()
      }
    }
    step()
  }

  async #onTargetClosed(): Promise<void> {
    if (this.#phase !== 'data') return
    // Drain what the target said before closing (the agent waits ≤2 s, §10)
    const deadline = Date.now() + DRAIN_BEFORE_CLOSE_MS
    while (
      (this.#pending.length > 0 || this.#stream.unacknowledged > 0) &&
      Date.now() < deadline &&
      this.#phase === 'data'
    ) {
      this.#pump()
      await new Promise((r) => setTimeout(r, 10))
    }
    await this.end('')
  }

  #onTick(): void {
    if (!this.#ws) return
    for (const frame of this.#stream.dueForResend()) this.#toClient(frame)
  }

  #touch(): void {
    clearTimeout(this.#idle)
    this.#idle = setTimeout(
      () => void this.end('Session timed out due to inactivity.'),
      this.#opts.idleTimeoutMs,
    )
    this.#idle.unref()
  }

  /** channel_closed with `output`, close 1000, session over (§7.1, §12.1 rule 11). */
  async end(output: string, status: 'Terminated' | 'Failed' = 'Terminated'): Promise<void> {
    if (this.#phase === 'closed' || this.#phase === 'closing') return
    this.#phase = 'closing'
    clearTimeout(this.#handshakeTimer)
    clearTimeout(this.#idle)
    this.#target?.destroy()
    const ws = this.#ws
    if (ws && ws.readyState === ws.OPEN) {
      // channel_closed comes from the service, not through the fault injector
      ws.send(
        encodeChannelClosed({
          sessionId: this.#session.sessionId,
          destinationId: this.#session.target,
          output,
          createdDate: Date.now(),
        }),
      )
      ws.close(1000)
    }
    this.close()
    this.#session.status = status
    this.#session.endDate = new Date()
    this.#opts.onEnd()
  }

  /** Stop timers and sockets (sandbox shutdown). */
  close(): void {
    this.#phase = 'closed'
    this.#mux?.close()
    clearInterval(this.#tick)
    clearTimeout(this.#idle)
    clearTimeout(this.#handshakeTimer)
    for (const t of this.#faultTimers) clearInterval(t)
    this.#target?.destroy()
    if (this.#ws && this.#ws.readyState === this.#ws.OPEN) this.#ws.close(1000)
  }
}
