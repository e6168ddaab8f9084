// The simulated agent's mux mode (port_mux.go): for a LocalPortForwarding document and a client
// ≥ 1.1.70 the session's Output carries an smux v1 stream in which the agent is the server. Each
// stream the client opens is one TCP connection to the document's destination; a failed dial sends
// flag ConnectToPortError (3) and ends that stream only, and the session stays up.
import type { Socket } from 'node:net'
import { SmuxSession } from '../../protocol/smux.ts'
import { compareVersions } from '../../support/version-compare.ts'

/**
 * Whether the agent's smux server keeps its session alive with NOPs, and so closes it after a silent
 * keepalive timeout (port_mux.go, RELEASENOTES.md): always before 3.1.1446.0 ("Disable smux keep alive
 * to use idle session timeout feature"), never until 3.1.1575.0, then only for clients ≤ 1.2.331.0
 * ("Fixed idle session timeout with smux keep alive configuration based on CLI version").
 */
export function agentSendsSmuxKeepalive(agentVersion: string, clientVersion: string): boolean {
  if (compareVersions(agentVersion, '3.1.1446.0') < 0) return true
  if (compareVersions(agentVersion, '3.1.1575.0') < 0) return false
  return compareVersions(clientVersion, '1.2.331.0') <= 0
}

export interface MuxPortOptions {
  /** one new connection to the document's destination */
  dial: () => Promise<Socket>
  /** smux bytes for the client (the caller chunks and paces them) */
  send: (bytes: Buffer) => void
  /** a data-channel flag for the client (ConnectToPortError) */
  flag: (code: number) => void
  /** a destination read past this many queued bytes is paused until `resume()` */
  pausedAbove: () => boolean
  /** smux keepalive as xtaci runs it: a NOP every interval, the session closed after a timeout with nothing received */
  keepalive?: { intervalMs: number; timeoutMs: number }
  /** the keepalive timeout closed the smux session */
  onDead?: () => void
}

const CONNECT_TO_PORT_ERROR = 3

export class MuxPort {
  readonly #mux = new SmuxSession('server')
  readonly #opts: MuxPortOptions
  readonly #sockets = new Map<number, Socket>()
  /** bytes for a stream whose destination is still being dialled */
  readonly #early = new Map<number, Buffer[]>()
  /** streams whose FIN came while their destination was still being dialled */
  readonly #earlyFin = new Set<number>()

  /** something arrived since the last keepalive check (xtaci's dataReady) */
  #heard = false
  readonly #timers: NodeJS.Timeout[] = []

  constructor(opts: MuxPortOptions) {
    this.#opts = opts
    const keepalive = opts.keepalive
    if (keepalive) {
      const ping = setInterval(() => {
        this.#mux.keepalive()
        this.#flush()
      }, keepalive.intervalMs)
      const check = setInterval(() => {
        if (!this.#heard) {
          this.close()
          opts.onDead?.()
        }
        this.#heard = false
      }, keepalive.timeoutMs)
      for (const t of [ping, check]) {
        t.unref()
        this.#timers.push(t)
      }
    }
  }

  /** An Output payload from the client: part of the smux byte stream. */
  input(payload: Buffer): void {
    if (payload.length > 0) this.#heard = true
    let events: ReturnType<SmuxSession['receive']>
    try {
      events = this.#mux.receive(payload)
    } catch {
      // xtaci's server closes the whole smux session on a bad frame; nothing more is read
      this.close()
      return
    }
    for (const event of events) {
      if (event.type === 'open') this.#open(event.streamId)
      else if (event.type === 'data') {
        const socket = this.#sockets.get(event.streamId)
        if (socket) socket.write(event.data)
        else this.#early.get(event.streamId)?.push(event.data)
      } else if (event.type === 'fin') {
        const socket = this.#sockets.get(event.streamId)
        if (socket) socket.end()
        else if (this.#early.has(event.streamId)) this.#earlyFin.add(event.streamId)
      }
    }
    this.#flush()
  }

  #open(streamId: number): void {
    this.#early.set(streamId, [])
    this.#opts.dial().then(
      (socket) => {
        const early = this.#early.get(streamId) ?? []
        this.#early.delete(streamId)
        this.#sockets.set(streamId, socket)
        for (const data of early) socket.write(data)
        if (this.#earlyFin.delete(streamId)) socket.end()
        socket.on('data', (data: Buffer) => {
          if (!this.#mux.streams.includes(streamId)) return
          this.#mux.write(streamId, data)
          this.#flush()
          if (this.#opts.pausedAbove()) socket.pause()
        })
        socket.on('error', () => {})
        socket.on('close', () => {
          this.#sockets.delete(streamId)
          if (this.#mux.streams.includes(streamId)) this.#mux.close(streamId)
          this.#flush()
        })
      },
      () => {
        this.#early.delete(streamId)
        this.#earlyFin.delete(streamId)
        this.#opts.flag(CONNECT_TO_PORT_ERROR)
        this.#mux.close(streamId)
        this.#flush()
      },
    )
  }

  /** The client caught up: read the destinations again. */
  resume(): void {
    for (const socket of this.#sockets.values()) socket.resume()
  }

  #flush(): void {
    const out = this.#mux.takeOutput()
    if (out.length > 0) this.#opts.send(out)
  }

  close(): void {
    for (const t of this.#timers) clearInterval(t)
    for (const socket of this.#sockets.values()) socket.destroy()
    this.#sockets.clear()
    this.#early.clear()
    this.#earlyFin.clear()
  }
}
