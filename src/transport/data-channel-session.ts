// The client end of a Session Manager data channel (shared/docs/session-protocol.md): open frame,
// handshake, acknowledged and ordered stream in both directions, and reconnection through
// ResumeSession with nothing lost or repeated. Bytes in and out are the SSH connection.

import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import {
  ActionStatus,
  ActionType,
  FlagCode,
  MessageType,
  PayloadType,
  RESEND_TICK_MS,
} from '../protocol/constants.ts'
import { type ClientMessage, type ProtocolError, parseMessage } from '../protocol/message.ts'
import {
  encodeFlag,
  encodeHandshakeResponse,
  encodeOpenDataChannelInput,
  parseAcknowledgeContent,
  parseChannelClosedContent,
  parseHandshakeRequest,
  parseSessionTypeParameters,
  tryParseFlag,
} from '../protocol/payloads.ts'
import { type PortMode, portSessionMode } from '../protocol/port-mode.ts'
import { chunk, ReliableStream } from '../protocol/stream.ts'
import { deniedLine } from '../support/access-denied.ts'
import { AuthError, SessionError, SessionGoneError } from '../support/errors.ts'
import type { Log } from '../support/log.ts'
import { dialWebSocket, UpgradeRefusedError, type WebSocketLike } from './websocket.ts'

/** In-flight window: stream messages sent and not yet acknowledged before write() asks to wait. */
export const WINDOW_MESSAGES = 512
/** A socket that answers no ping for this long is dead: reconnect instead of hanging like the plugin. */
const PING_INTERVAL_MS = 10_000
const RECONNECT_ATTEMPTS = 6
/** Overdue frames resent per 100 ms tick at most, oldest first (the agent and plugin: one). */
const RESEND_BURST = 8
/** One ResumeSession call, at most: a black-holed endpoint must not hold each attempt for the SDK's minutes. */
const RESUME_CALL_MS = 8_000

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer in ${ms / 1000} s`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export interface SessionOptions {
  streamUrl: string
  tokenValue: string
  sessionId: string
  clientVersion: string
  /** ResumeSession: a fresh token (and URL) for the same session */
  resume: () => Promise<{ streamUrl: string; tokenValue: string }>
  log: Log
  now?: () => number
  handshakeTimeoutMs?: number
  connect?: (url: string, headers: Record<string, string>) => Promise<WebSocketLike>
  /**
   * Headers for each websocket upgrade (the SigV4 signature, service ssmmessages, that plugins since
   * 1.2.688 send): asked anew for every dial, since a resume brings a new URL.
   */
  upgradeHeaders?: (url: string) => Promise<Record<string, string>>
  /**
   * What flag ConnectToPortError (§8.3) does in mux mode. 'close' (default): end the session with
   * CONNECT_TO_PORT_FAILED, right for `proxy --via`, whose one smux stream is the whole session.
   * 'emit': emit 'connectToPortError' and stay open, for `forward`'s many streams: the agent fails
   * only the stream it could not dial (and sends that stream's smux FIN next).
   */
  connectToPortError?: 'close' | 'emit'
}

/** The close reason when the agent sent flag ConnectToPortError (§8.3). */
export const CONNECT_TO_PORT_FAILED = 'the agent could not connect to the port'

export interface AgentInfo {
  version: string
  /** the SessionType action's Properties (portNumber, type, host …) */
  properties: Record<string, unknown>
}

type State = 'idle' | 'handshake' | 'open' | 'reconnecting' | 'closed'

export class DataChannelSession extends EventEmitter<{
  data: [Buffer]
  drain: []
  close: [string | undefined]
  /** mux mode with connectToPortError 'emit': the agent could not dial the destination for one stream */
  connectToPortError: []
}> {
  readonly #opts: SessionOptions
  readonly #now: () => number
  readonly #stream: ReliableStream
  readonly #clientId = randomUUID()
  #ws: WebSocketLike | undefined
  #state: State = 'idle'
  /** our reader (ssh, through stdout) is behind: the socket is not read until it catches up */
  #readingHeld = false
  #wantDrain = false
  #tick: NodeJS.Timeout | undefined
  #ping: NodeJS.Timeout | undefined
  #awaitingPong = false
  #streamUrl: string
  #token: string
  #handshake: { resolve: () => void; reject: (e: Error) => void } | undefined
  #closeReason: string | undefined
  #agent: AgentInfo | undefined
  /**
   * Output that arrived before anyone listened: ws delivers every frame of one TCP read in one go, so
   * HandshakeComplete and the server's first bytes (its SSH banner) can land before open() resolves.
   */
  #early: Buffer[] | undefined = []

  constructor(opts: SessionOptions) {
    super()
    ;(this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event !== 'data') return
      queueMicrotask(() => {
        const early = this.#early ?? []
        this.#early = undefined
        for (const b of early) this.emit('data', b)
      })
    })
    this.#opts = opts
    this.#now = opts.now ?? Date.now
    this.#stream = new ReliableStream({
      now: this.#now,
      outgoingType: MessageType.InputStreamData,
      // ws masks every client frame into a copy of its own (RFC 6455 §5.3), so a frame's bytes are
      // not referenced after send() returns and its slot may be reused once it is acknowledged.
      frameSlots: 2 * WINDOW_MESSAGES,
    })
    this.#streamUrl = opts.streamUrl
    this.#token = opts.tokenValue
  }

  /** What the agent said of itself and the session in its HandshakeRequest (known once open). */
  get agent(): AgentInfo | undefined {
    return this.#agent
  }

  /** stdio, mux or basic: how this port session carries bytes (§8.1); stdio until the handshake */
  get portMode(): PortMode {
    return this.#agent ? portSessionMode(this.#agent.properties, this.#agent.version) : 'stdio'
  }

  get state(): State {
    return this.#state
  }

  /** Why it closed, once closed (channel_closed Output or our error); undefined for a clean end. */
  get closeReason(): string | undefined {
    return this.#closeReason
  }

  /** Dial, send the open frame and complete the handshake (§1.2, §5). */
  async open(): Promise<void> {
    this.#state = 'handshake'
    const done = new Promise<void>((resolve, reject) => {
      this.#handshake = { resolve, reject }
    })
    const timeoutMs = this.#opts.handshakeTimeoutMs ?? 15_000
    const timer = setTimeout(() => {
      this.#fail(
        new SessionError(`no handshake from the agent within ${timeoutMs / 1000} s`, {
          hint: 'the agent may be overloaded or too old; try again, or check it with ssm-ssh doctor',
        }),
      )
    }, timeoutMs)
    try {
      await this.#attach()
      this.#tick = setInterval(() => this.#onTick(), RESEND_TICK_MS)
      this.#tick.unref()
      await done
    } catch (error) {
      this.#shutdown()
      throw error
    } finally {
      clearTimeout(timer)
    }
  }

  /** Queue SSH bytes; false when the window is full (wait for 'drain'). */
  write(data: Uint8Array): boolean {
    if (this.#state === 'closed') return false
    for (const piece of chunk(data)) this.#sendStream(PayloadType.Output, piece)
    const ok = this.#stream.unacknowledged < WINDOW_MESSAGES
    if (!ok) this.#wantDrain = true
    return ok
  }

  /**
   * Stop reading the data channel until resumeReading(): ssh reads our stdout slower than the agent
   * sends. Unread frames stay in the kernel and TCP holds the service back, as the plugin's blocking
   * stdout write does; without this, a fast download queued megabytes in stdout (peak RSS +20 MB).
   */
  holdReading(): void {
    this.#readingHeld = true
    this.#ws?.pause()
  }

  resumeReading(): void {
    this.#readingHeld = false
    this.#ws?.resume()
  }

  /** A flag (§3.4) as a stream message: DisconnectToPort when a basic-mode local connection ends. */
  sendFlag(code: number): void {
    if (this.#state !== 'closed') this.#sendStream(PayloadType.Flag, encodeFlag(code))
  }

  /** Our side is done (stdin EOF): wait until the agent has everything, then stop. */
  async end(timeoutMs = 5_000): Promise<void> {
    const deadline = this.#now() + timeoutMs
    while (this.#stream.unacknowledged > 0 && this.#state !== 'closed' && this.#now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    if (this.#state !== 'closed') {
      // The agent ends the port session on TerminateSession (§3.4); the API call follows in proxy.
      this.#sendStream(PayloadType.Flag, encodeFlag(FlagCode.TerminateSession))
      this.#finish(undefined)
    }
  }

  /** Stop now, without waiting (SIGHUP from ssh, errors). */
  destroy(): void {
    this.#finish(this.#closeReason)
  }

  #sendStream(payloadType: number, payload: Uint8Array): void {
    const frame = this.#stream.send(payloadType, payload)
    this.#ws?.send(frame)
  }

  async #attach(): Promise<void> {
    const connect = this.#opts.connect ?? dialWebSocket
    let ws: WebSocketLike
    try {
      const headers = (await this.#opts.upgradeHeaders?.(this.#streamUrl)) ?? {}
      ws = await connect(this.#streamUrl, headers)
    } catch (error) {
      if (error instanceof UpgradeRefusedError && error.status === 403) throw upgradeDenied(error)
      throw new SessionError(`cannot open the data channel (${(error as Error).message})`, {
        hint: 'check the network path to the Session Manager endpoint (ssmmessages)',
        cause: error,
      })
    }
    this.#ws = ws
    if (this.#readingHeld) ws.pause()
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onFrame(data, isBinary))
    ws.on('close', (code: number, reason: Buffer) => this.#onSocketClose(ws, code, reason.toString()))
    ws.on('error', (error: Error) => this.#opts.log.debug(`data channel socket error: ${error.message}`))
    ws.on('pong', () => {
      this.#awaitingPong = false
    })
    ws.send(
      encodeOpenDataChannelInput({
        MessageSchemaVersion: '1.0',
        RequestId: randomUUID(),
        TokenValue: this.#token,
        ClientId: this.#clientId,
        ClientVersion: this.#opts.clientVersion,
      }),
    )
    clearInterval(this.#ping)
    this.#awaitingPong = false
    this.#ping = setInterval(() => {
      // a held socket is not read, so its pong cannot arrive: no verdict until reading resumes
      if (this.#readingHeld) {
        this.#awaitingPong = false
        return
      }
      if (this.#awaitingPong) {
        this.#opts.log.verbose('data channel: no pong, reconnecting')
        ws.terminate()
        return
      }
      this.#awaitingPong = true
      ws.ping(Buffer.from('keepalive'))
    }, PING_INTERVAL_MS)
    this.#ping.unref()
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    void isBinary
    let message: ClientMessage
    try {
      message = parseMessage(data, 'client')
    } catch (error) {
      // §2.2: drop it, no ack; the agent resends
      this.#opts.log.debug(`data channel: dropped a malformed frame (${(error as Error).message})`)
      return
    }
    this.#opts.log.debug(
      `<- ${message.messageType} seq=${message.sequenceNumber} type=${message.payloadType} len=${message.payload.length}`,
    )
    switch (message.messageType) {
      case MessageType.Acknowledge: {
        try {
          this.#stream.onAcknowledge(parseAcknowledgeContent(message.payload))
        } catch (error) {
          this.#opts.log.debug(`data channel: bad acknowledge (${(error as Error).message})`)
        }
        if (this.#wantDrain && this.#stream.unacknowledged < WINDOW_MESSAGES / 2) {
          this.#wantDrain = false
          this.emit('drain')
        }
        return
      }
      case MessageType.OutputStreamData: {
        const { ack, deliver } = this.#stream.receive(message)
        for (const m of deliver) this.#onStreamMessage(m)
        if (ack && this.#state !== 'closed') this.#ws?.send(ack)
        return
      }
      case MessageType.ChannelClosed: {
        let output = ''
        try {
          output = parseChannelClosedContent(message.payload).Output
        } catch {
          // a channel_closed we cannot read still closes the channel
        }
        this.#finish(output === '' ? undefined : output)
        return
      }
      // pause_publication / start_publication: ignored, as the plugin ignores them. Pausing until a
      // start that may never come (the agent clears its pause on any message) could stall forever.
      case MessageType.PausePublication:
      case MessageType.StartPublication:
        return
      default:
        return
    }
  }

  #onStreamMessage(m: ClientMessage): void {
    switch (m.payloadType) {
      case PayloadType.Output:
        if (this.#early) this.#early.push(m.payload)
        else this.emit('data', m.payload)
        return
      case PayloadType.HandshakeRequest:
        this.#answerHandshake(m.payload)
        return
      case PayloadType.HandshakeComplete:
        if (this.#state === 'handshake') this.#state = 'open'
        this.#handshake?.resolve()
        this.#handshake = undefined
        return
      case PayloadType.Flag: {
        if (tryParseFlag(m.payload) !== FlagCode.ConnectToPortError) return
        if (this.#opts.connectToPortError === 'emit' && this.portMode === 'mux')
          this.emit('connectToPortError')
        else this.#finish(CONNECT_TO_PORT_FAILED)
        return
      }
      default:
        return
    }
  }

  #answerHandshake(payload: Buffer): void {
    let request: ReturnType<typeof parseHandshakeRequest>
    try {
      request = parseHandshakeRequest(payload)
    } catch (error) {
      this.#fail(
        new SessionError(`the agent sent an unreadable handshake (${(error as ProtocolError).message})`),
      )
      return
    }
    this.#opts.log.verbose(`agent ${request.AgentVersion} handshake`)
    const sessionType = request.RequestedClientActions.find((a) => a.ActionType === ActionType.SessionType)
    let properties: Record<string, unknown> = {}
    try {
      const p = parseSessionTypeParameters(sessionType?.ActionParameters).Properties
      if (p && typeof p === 'object' && !Array.isArray(p)) properties = p as Record<string, unknown>
    } catch {
      // no readable SessionType: a plain stream
    }
    this.#agent = { version: request.AgentVersion, properties }
    const actions = request.RequestedClientActions.map((a) => ({
      ActionType: a.ActionType,
      // SessionType is all an SSH session needs; KMS encryption is not supported (yet).
      ActionStatus: a.ActionType === ActionType.SessionType ? ActionStatus.Success : ActionStatus.Unsupported,
      ActionResult: null,
      Error: a.ActionType === ActionType.SessionType ? '' : `${a.ActionType} is not supported by ssm-ssh`,
    }))
    this.#sendStream(
      PayloadType.HandshakeResponse,
      encodeHandshakeResponse({
        ClientVersion: this.#opts.clientVersion,
        ProcessedClientActions: actions,
        Errors: null,
      }),
    )
  }

  #onTick(): void {
    if (this.#state === 'closed' || this.#state === 'reconnecting' || !this.#ws) return
    try {
      for (const frame of this.#stream.someDueForResend(RESEND_BURST)) this.#ws.send(frame)
    } catch (error) {
      this.#fail(
        new SessionError(`the agent stopped acknowledging (${(error as Error).message})`, {
          hint: 'the instance may have lost its network; try again',
        }),
      )
    }
  }

  #onSocketClose(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.#ws || this.#state === 'closed') return
    this.#ws = undefined
    clearInterval(this.#ping)
    if (code === 1008) {
      this.#fail(
        new SessionError(`the service refused the data channel: ${reason || 'policy violation'}`, {
          hint: 'the session token is invalid or the session ended; start a new connection',
        }),
      )
      return
    }
    if (this.#state === 'handshake' && this.#stream.nextSequenceNumber === 0) {
      this.#fail(new SessionError(`the data channel closed before the handshake (${code} ${reason})`.trim()))
      return
    }
    // A dropped socket, or the service's hourly recycle (close 1000 "Bye"): resume (§7.3)
    this.#opts.log.verbose(`data channel closed (${code}${reason ? ` ${reason}` : ''}), resuming`)
    void this.#reconnect()
  }

  async #reconnect(): Promise<void> {
    const before = this.#state
    this.#state = 'reconnecting'
    let lastError: unknown
    for (let attempt = 0; attempt < RECONNECT_ATTEMPTS && this.#state === 'reconnecting'; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)))
      try {
        const ticket = await withTimeout(this.#opts.resume(), RESUME_CALL_MS, 'ResumeSession')
        this.#streamUrl = ticket.streamUrl
        this.#token = ticket.tokenValue
        await this.#attach()
        if ((this.#state as State) === 'closed') return
        this.#state = before === 'handshake' ? 'handshake' : 'open'
        for (const frame of this.#stream.resendAll()) this.#ws?.send(frame)
        this.#opts.log.verbose('data channel resumed')
        return
      } catch (error) {
        lastError = error
        this.#opts.log.verbose(`resume attempt ${attempt + 1} failed: ${(error as Error).message}`)
        if (error instanceof SessionGoneError) break
      }
    }
    if (this.#state === 'reconnecting') {
      this.#fail(
        lastError instanceof SessionError
          ? lastError
          : new SessionError(
              `lost the data channel and could not resume it (${(lastError as Error)?.message ?? 'unknown'})`,
              {
                hint: 'the SSM endpoint or the data channel could not be reached for too long (your network or proxy, not the instance); connect again',
                cause: lastError,
              },
            ),
      )
    }
  }

  #fail(error: Error): void {
    if (this.#handshake) {
      this.#handshake.reject(error)
      this.#handshake = undefined
      this.#shutdown()
      return
    }
    this.#closeReason = error.message
    this.#finish(error.message)
  }

  #finish(reason: string | undefined): void {
    if (this.#state === 'closed') return
    this.#closeReason = reason
    this.#shutdown()
    this.#handshake?.reject(
      new SessionError(`the session closed during the handshake${reason ? `: ${reason}` : ''}`),
    )
    this.#handshake = undefined
    this.emit('close', reason)
  }

  #shutdown(): void {
    this.#state = 'closed'
    clearInterval(this.#tick)
    clearInterval(this.#ping)
    const ws = this.#ws
    this.#ws = undefined
    // The plugin never sends a close frame (§1.5); a clean close is kinder to the service.
    ws?.close(1000)
  }
}

/**
 * A 403 on the upgrade: the caller's policy does not allow ssmmessages:OpenDataChannel on the
 * session (the body says so), or the upgrade's signature was refused.
 */
function upgradeDenied(error: UpgradeRefusedError): AuthError {
  let text = error.body
  try {
    const body = JSON.parse(error.body) as { message?: string; Message?: string }
    text = body.message ?? body.Message ?? text
  } catch {
    // not JSON: the text as it came
  }
  return new AuthError(
    deniedLine(text) ??
      'the service refused to open the data channel (HTTP 403): the IAM policy must allow ssmmessages:OpenDataChannel on your sessions — see `ssm-ssh policy`',
    { cause: error },
  )
}
