// Local connections over one port-forwarding session (session-protocol.md §8): what the official plugin
// does for AWS-StartPortForwardingSession[ToRemoteHost]. In mux mode (agents > 3.0.196.0) every accepted
// connection is its own smux stream of the one session, so many run at once; in basic mode (older
// agents) the session carries raw bytes, so connections take turns and each one's end is told to the
// agent with flag DisconnectToPort, after which it dials the destination afresh (§8.3).
import { createServer, type Server, type Socket } from 'node:net'
import { FlagCode } from '../protocol/constants.ts'
import { needsSmuxKeepalive, type PortMode } from '../protocol/port-mode.ts'
import { SmuxSession } from '../protocol/smux.ts'
import { CliError } from '../support/errors.ts'
import type { Log } from '../support/log.ts'
import type { AgentInfo } from './data-channel-session.ts'
import { SMUX_KEEPALIVE_MS } from './mux-bridge.ts'

/** What the forwarder uses of a DataChannelSession, so tests can put a scripted agent behind it. */
export interface PortSession {
  readonly portMode: PortMode
  readonly agent: AgentInfo | undefined
  readonly state: string
  /** false: the send window is full, wait for 'drain' */
  write(data: Uint8Array): boolean
  holdReading(): void
  resumeReading(): void
  sendFlag(code: number): void
  destroy(): void
  on(event: 'data', listener: (data: Buffer) => void): unknown
  on(event: 'drain' | 'connectToPortError', listener: () => void): unknown
  on(event: 'close', listener: (reason: string | undefined) => void): unknown
}

/**
 * Bytes one local connection may have queued unread before the whole session stops reading. smux v1
 * has no per-stream window (xtaci stops reading the session once its 4 MiB receive buffer is full), so
 * one stuck reader holds every stream; this much slack keeps a merely slower one from doing it.
 */
export const LOCAL_BUFFER_LIMIT = 256 * 1024

export type ListenSpec = { bind: string; port: number } | { path: string }

/** Listen before any session starts, so a taken port costs no StartSession. Socket errors → CliError. */
export async function listenLocal(spec: ListenSpec): Promise<Server> {
  // allowHalfOpen: a client's FIN becomes the stream's FIN and the reply still flows back;
  // pauseOnConnect: nothing is read before the session can carry it
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true })
  const where = 'path' in spec ? spec.path : formatHostPort(spec.bind, spec.port)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen('path' in spec ? { path: spec.path } : { host: spec.bind, port: spec.port }, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    throw listenError(error as NodeJS.ErrnoException, where, spec)
  }
  return server
}

function listenError(error: NodeJS.ErrnoException, where: string, spec: ListenSpec): CliError {
  const cause = { cause: error }
  switch (error.code) {
    case 'EADDRINUSE':
      return new CliError(`${where} is already in use`, {
        hint:
          'path' in spec
            ? 'remove the socket file if nothing listens on it, or pass another --socket path'
            : 'pick another LPORT, or 0 for a free one',
        ...cause,
      })
    case 'EACCES':
      return new CliError(`no permission to listen on ${where}`, {
        hint:
          'path' in spec
            ? 'pick a directory you can write to'
            : 'ports below 1024 need root: use 1024 or up, or 0',
        ...cause,
      })
    case 'EADDRNOTAVAIL':
      return new CliError(
        `${where}: ${'bind' in spec ? spec.bind : where} is not an address of this machine`,
        {
          hint: 'bind to 127.0.0.1 (the default) or an address of one of its interfaces',
          ...cause,
        },
      )
    default:
      return new CliError(`cannot listen on ${where} (${error.message})`, cause)
  }
}

/** host:port, with brackets for IPv6 as ssh and URLs write it. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** Where a listening server listens, as people write it: 127.0.0.1:8080, [::1]:8080 or a socket path. */
export function listenAddress(server: Server): string {
  const address = server.address()
  if (address === null) return '(closed)'
  if (typeof address === 'string') return address
  return formatHostPort(address.address, address.port)
}

export interface ForwarderOptions {
  log: Log
  /** the agent could not dial the destination for one connection (mux mode); that connection is closed */
  onRefused?: () => void
  /** smux NOPs this often; by default every SMUX_KEEPALIVE_MS to agents ≤ 3.1.1511.0, which close a silent session */
  keepaliveMs?: number
}

interface Connection {
  socket: Socket
  /** the smux stream (mux mode) */
  streamId: number
  /** bytes the destination sent: a stream that ends with none after a ConnectToPortError was refused */
  received: number
  closed: boolean
}

/**
 * One listener's connections over one session. Connections accepted before start() wait, paused; the
 * caller owns the server's lifetime through close() and the session's (reconnects are the session's job,
 * and streams outlive them).
 */
export class PortForwarder {
  readonly #server: Server
  readonly #opts: ForwarderOptions
  readonly #waiting: Socket[] = []
  readonly #connections = new Map<number, Connection>()
  /** connections whose unread bytes hold the session's reading */
  readonly #holding = new Set<Connection>()
  #session: PortSession | undefined
  #mux: SmuxSession | undefined
  /** the session's send window is full: local sockets are paused until 'drain' */
  #blocked = false
  /** ConnectToPortError flags not yet matched with the FIN of the stream they failed */
  #refusals = 0
  /** basic mode: the one connection the session carries now */
  #active: Connection | undefined
  /**
   * basic mode: what the destination said before the first local connection (the agent dials it when
   * the session opens, and sshd speaks first). The plugin leaves such output unacknowledged until a
   * connection arrives, so the agent resends it then; kept here, it reaches the first connection.
   * Undefined once a connection was carried: later strays belong to a connection already ended.
   */
  #early: Buffer[] | undefined = []
  #earlyHeld = false
  #keepalive: NodeJS.Timeout | undefined
  #closed = false
  #accepted = 0

  constructor(server: Server, opts: ForwarderOptions) {
    this.#server = server
    this.#opts = opts
    server.on('connection', (socket) => this.#accept(socket))
    server.on('error', (error) => opts.log.debug(`local listener: ${error.message}`))
  }

  /** Local connections so far (for logs and tests). */
  get accepted(): number {
    return this.#accepted
  }

  /** Local connections open now. */
  get open(): number {
    let n = this.#waiting.length
    for (const c of this.#connections.values()) if (!c.closed) n++
    return n
  }

  /** Carry the waiting and all later connections over `session`, which has completed its handshake. */
  start(session: PortSession): void {
    if (this.#session) throw new Error('PortForwarder.start: already started')
    this.#session = session
    session.on('drain', this.#onDrain)
    session.on('close', () => this.close())
    if (session.portMode === 'mux') {
      this.#mux = new SmuxSession('client')
      session.on('data', this.#onMuxData)
      session.on('connectToPortError', this.#onConnectToPortError)
      const keepaliveMs =
        this.#opts.keepaliveMs ?? (needsSmuxKeepalive(session.agent?.version ?? '') ? SMUX_KEEPALIVE_MS : 0)
      if (keepaliveMs > 0) {
        this.#keepalive = setInterval(() => {
          this.#mux?.keepalive()
          this.#flush()
        }, keepaliveMs)
        this.#keepalive.unref()
      }
      for (const socket of this.#waiting.splice(0)) this.#openStream(socket)
    } else {
      // basic, and stdio (which a LocalPortForwarding document never gets): raw bytes, one at a time
      session.on('data', this.#onBasicData)
      this.#next()
    }
    if (session.state === 'closed') this.close()
  }

  /** Stop listening and drop every local connection (the session is the caller's to end). */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#keepalive)
    this.#server.close()
    for (const socket of this.#waiting.splice(0)) socket.destroy()
    for (const c of this.#connections.values()) c.socket.destroy()
    this.#active?.socket.destroy()
  }

  #accept(socket: Socket): void {
    this.#accepted++
    socket.on('error', (error) => this.#opts.log.debug(`local connection: ${error.message}`))
    if (this.#closed) {
      socket.destroy()
      return
    }
    if (this.#mux) this.#openStream(socket)
    else {
      this.#waiting.push(socket)
      if (this.#session && !this.#active) this.#next()
    }
  }

  // --- mux mode: one smux stream per connection -------------------------------------------------

  #openStream(socket: Socket): void {
    const mux = this.#mux as SmuxSession
    const c: Connection = { socket, streamId: mux.openStream(), received: 0, closed: false }
    this.#connections.set(c.streamId, c)
    this.#opts.log.debug(`local connection ${this.#accepted} → smux stream ${c.streamId}`)
    socket.on('data', (data: Buffer) => {
      if (mux.streamState(c.streamId)?.localFin !== false) return
      mux.write(c.streamId, data)
      this.#flush()
    })
    // the client's FIN is the stream's; the destination's answer still comes back (allowHalfOpen)
    socket.on('end', () => this.#closeStream(c))
    socket.on('close', () => {
      c.closed = true
      this.#release(c)
      this.#closeStream(c)
    })
    this.#flush()
    if (!this.#blocked) socket.resume()
  }

  #closeStream(c: Connection): void {
    const mux = this.#mux as SmuxSession
    if (mux.close(c.streamId)) this.#connections.delete(c.streamId)
    this.#flush()
  }

  readonly #onMuxData = (data: Buffer): void => {
    const mux = this.#mux as SmuxSession
    let events: ReturnType<SmuxSession['receive']>
    try {
      events = mux.receive(data)
    } catch (error) {
      this.#opts.log.warn(`the agent's smux stream is unreadable (${(error as Error).message})`)
      this.#session?.destroy()
      return
    }
    for (const event of events) {
      const c = this.#connections.get(event.streamId)
      if (event.type === 'data') {
        if (!c) continue
        c.received += event.data.length
        if (!c.closed) this.#deliver(c, event.data)
      } else if (event.type === 'fin') {
        if (!c) continue
        if (c.received === 0 && this.#refusals > 0) {
          // the stream the agent could not dial: its FIN follows the flag (port_mux.go)
          this.#refusals--
          this.#opts.onRefused?.()
          c.socket.destroy()
        } else if (!c.closed) c.socket.end()
      } else if (event.type === 'closed') {
        this.#connections.delete(event.streamId)
      } else if (event.type === 'open') {
        // the agent (xtaci's server side) never opens streams; refuse one if it did
        mux.close(event.streamId)
      }
    }
    this.#flush()
  }

  readonly #onConnectToPortError = (): void => {
    this.#refusals++
  }

  #flush(): void {
    const out = this.#mux?.takeOutput()
    if (out === undefined || out.length === 0 || !this.#session) return
    if (!this.#session.write(out)) this.#block()
  }

  // --- basic mode: raw bytes, one connection at a time --------------------------------------------

  #next(): void {
    if (this.#active || this.#closed) return
    const socket = this.#waiting.shift()
    if (!socket) return
    if (socket.destroyed) {
      this.#next()
      return
    }
    const c: Connection = { socket, streamId: 0, received: 0, closed: false }
    this.#active = c
    this.#opts.log.debug(`local connection now carried by the session (${this.#waiting.length} waiting)`)
    const early = this.#early ?? []
    this.#early = undefined
    for (const data of early) this.#deliver(c, data)
    if (this.#earlyHeld) {
      this.#earlyHeld = false
      if (this.#holding.size === 0) this.#session?.resumeReading()
    }
    socket.on('data', (data: Buffer) => {
      if (this.#active === c && this.#session && !this.#session.write(data)) this.#block()
    })
    const done = () => {
      if (this.#active !== c) return
      c.closed = true
      this.#active = undefined
      this.#release(c)
      // end, not destroy: what the destination said before is still written out
      socket.end()
      // the agent closes its destination connection and dials again for the next one (§8.3)
      this.#session?.sendFlag(FlagCode.DisconnectToPort)
      this.#next()
    }
    socket.on('end', done)
    socket.on('close', done)
    if (!this.#blocked) socket.resume()
  }

  readonly #onBasicData = (data: Buffer): void => {
    const c = this.#active
    if (c && !c.closed) this.#deliver(c, data)
    else if (this.#early) this.#keepEarly(data)
    else this.#opts.log.debug(`dropped ${data.length} bytes from the destination: no local connection`)
  }

  #keepEarly(data: Buffer): void {
    const early = this.#early as Buffer[]
    early.push(data)
    // a destination that talks at length to nobody: stop reading the session until someone connects
    if (!this.#earlyHeld && early.reduce((n, b) => n + b.length, 0) > LOCAL_BUFFER_LIMIT) {
      this.#earlyHeld = true
      this.#session?.holdReading()
    }
  }

  // --- backpressure, both ways ----------------------------------------------------------------------

  #deliver(c: Connection, data: Buffer): void {
    c.socket.write(data)
    if (c.socket.writableLength <= LOCAL_BUFFER_LIMIT || this.#holding.has(c)) return
    this.#holding.add(c)
    if (this.#holding.size === 1) this.#session?.holdReading()
    c.socket.once('drain', () => this.#release(c))
  }

  #release(c: Connection): void {
    if (this.#holding.delete(c) && this.#holding.size === 0) this.#session?.resumeReading()
  }

  #block(): void {
    if (this.#blocked) return
    this.#blocked = true
    for (const c of this.#carried()) c.socket.pause()
  }

  readonly #onDrain = (): void => {
    if (!this.#blocked) return
    this.#blocked = false
    for (const c of this.#carried()) if (!c.closed) c.socket.resume()
  }

  #carried(): Connection[] {
    if (this.#active) return [this.#active]
    return [...this.#connections.values()]
  }
}
