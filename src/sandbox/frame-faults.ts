// The data-channel faults on the service's side of a client socket (--faults drop, dup, reorder, and
// the socket cuts), shared by the simulated agent's channel and the relay to a real agent, so both
// kinds of instance meet the same network.
import type WebSocket from 'ws'
import type { Faults } from './faults.ts'

export class FrameFaults {
  readonly #faults: Faults
  readonly #random: () => number
  #held: Buffer | undefined

  constructor(faults: Faults, random: () => number) {
    this.#faults = faults
    this.#random = random
  }

  /** Send a frame to the client: maybe dropped, sent twice, or held back behind the next one. */
  toClient(ws: WebSocket, frame: Buffer): void {
    const { drop, dup, reorder } = this.#faults
    const r = this.#random
    if (drop > 0 && r() < drop) return
    if (reorder > 0 && this.#held === undefined && r() < reorder) {
      this.#held = frame
      return
    }
    ws.send(frame)
    if (dup > 0 && r() < dup) ws.send(frame)
    if (this.#held) {
      const held = this.#held
      this.#held = undefined
      ws.send(held)
    }
  }

  /** A frame from the client reaches `deliver` zero, one or two times. */
  fromClient(frame: Buffer, deliver: (frame: Buffer) => void): void {
    const { drop, dup } = this.#faults
    if (drop > 0 && this.#random() < drop) return
    deliver(frame)
    if (dup > 0 && this.#random() < dup) deliver(frame)
  }

  /** The socket cuts of --faults disconnect= and recycle= on a newly attached client socket. */
  cutTimers(ws: WebSocket): NodeJS.Timeout[] {
    const timers: NodeJS.Timeout[] = []
    const { disconnectMs, recycleMs } = this.#faults
    if (disconnectMs) timers.push(setInterval(() => ws.terminate(), disconnectMs))
    if (recycleMs) timers.push(setInterval(() => ws.close(1000, 'Bye'), recycleMs))
    return timers
  }
}
