// smux protocol version 1 (xtaci/smux frame.go, session.go, stream.go): the stream multiplexer whose
// byte stream the Output payloads of a mux-mode port session carry (session-protocol.md §8.1). The
// plugin is the smux client (one stream per local TCP connection), the agent the server.
// Pure: bytes in, values out; the caller owns the data channel, the keepalive timer and the clock.

import { ProtocolError } from './message.ts'

/** The only version we speak: v1 has no window updates (no UPD 4, no per-stream flow control). */
export const SMUX_VERSION = 1
/** version u8 | cmd u8 | length u16 LE | streamId u32 LE. */
export const SMUX_HEADER_SIZE = 8
/** xtaci's default MaxFrameSize: a sender splits longer writes into several PSH frames. */
export const SMUX_MAX_FRAME_DATA = 32768
/** The length field is a u16: the most data one frame can carry. */
const MAX_LENGTH = 0xffff
const MAX_STREAM_ID = 0xffff_ffff

export const SmuxCommand = {
  /** open a stream; no data */
  Syn: 0,
  /** the sender's end of a stream (EOF); no data */
  Fin: 1,
  /** stream data */
  Psh: 2,
  /** keepalive, stream id 0 as xtaci sends it; no data */
  Nop: 3,
} as const
export type SmuxCommand = (typeof SmuxCommand)[keyof typeof SmuxCommand]

export interface SmuxFrame {
  cmd: SmuxCommand
  streamId: number
  /** Empty for SYN, FIN and NOP. Never a view of the decoder's input. */
  data: Buffer
}

export interface NewSmuxFrame {
  cmd: SmuxCommand
  streamId: number
  /** At most 65535 bytes, and only on PSH. */
  data?: Uint8Array
}

const isCommand = (cmd: number): cmd is SmuxCommand => cmd >= SmuxCommand.Syn && cmd <= SmuxCommand.Nop

/** One frame. Throws ProtocolError for what no v1 peer accepts: an unknown cmd, data on a non-PSH frame. */
export function encodeSmuxFrame(frame: NewSmuxFrame): Buffer {
  const out = Buffer.allocUnsafe(SMUX_HEADER_SIZE + (frame.data?.length ?? 0))
  writeFrame(out, 0, frame.cmd, frame.streamId, frame.data)
  return out
}

/** Write a frame at `offset` of `out` (which must have room for it); returns the offset after it. */
function writeFrame(
  out: Buffer,
  offset: number,
  cmd: number,
  streamId: number,
  data: Uint8Array | undefined,
): number {
  if (!Number.isInteger(cmd) || !isCommand(cmd)) throw new ProtocolError(`smux: unknown cmd ${cmd}`)
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > MAX_STREAM_ID) {
    throw new ProtocolError(`smux: stream id ${streamId} is not a u32`)
  }
  const length = data?.length ?? 0
  if (length > MAX_LENGTH) throw new ProtocolError(`smux: ${length} bytes do not fit one frame (max 65535)`)
  if (length > 0 && cmd !== SmuxCommand.Psh) throw new ProtocolError(`smux: cmd ${cmd} carries no data`)
  out[offset] = SMUX_VERSION
  out[offset + 1] = cmd
  out.writeUInt16LE(length, offset + 2)
  out.writeUInt32LE(streamId, offset + 4)
  if (data !== undefined && length > 0) out.set(data, offset + SMUX_HEADER_SIZE)
  return offset + SMUX_HEADER_SIZE + length
}

/**
 * Frames out of an smux byte stream cut anywhere: a frame may span many chunks and a chunk may hold
 * many frames. After a bad header (version ≠ 1, unknown cmd, data on SYN/FIN/NOP: what xtaci's
 * recvLoop rejects with ErrInvalidProtocol) it throws that ProtocolError on every push; frames
 * completed earlier in the same chunk are lost with it, as the session is dead anyway.
 */
export class SmuxDecoder {
  readonly #header = Buffer.alloc(SMUX_HEADER_SIZE)
  #headerFilled = 0
  /** the data of the frame whose header is complete, filled up to #dataFilled */
  #data: Buffer | undefined
  #dataFilled = 0
  #error: ProtocolError | undefined

  push(chunk: Uint8Array): SmuxFrame[] {
    if (this.#error) throw this.#error
    const frames: SmuxFrame[] = []
    let offset = 0
    while (offset < chunk.length) {
      const data = this.#data
      if (data === undefined) {
        const n = Math.min(SMUX_HEADER_SIZE - this.#headerFilled, chunk.length - offset)
        this.#header.set(chunk.subarray(offset, offset + n), this.#headerFilled)
        this.#headerFilled += n
        offset += n
        this.#checkHeader()
        if (this.#headerFilled < SMUX_HEADER_SIZE) break
        const length = this.#header.readUInt16LE(2)
        if (length === 0) frames.push(this.#complete(Buffer.alloc(0)))
        else this.#data = Buffer.allocUnsafe(length)
      } else {
        const n = Math.min(data.length - this.#dataFilled, chunk.length - offset)
        data.set(chunk.subarray(offset, offset + n), this.#dataFilled)
        this.#dataFilled += n
        offset += n
        if (this.#dataFilled === data.length) frames.push(this.#complete(data))
      }
    }
    return frames
  }

  /** Bytes of an unfinished frame held back: not 0 when the stream ends means it was cut short. */
  get pendingBytes(): number {
    return this.#headerFilled + this.#dataFilled
  }

  /** Validate as much of the header as has arrived, so a bad stream fails at its first wrong byte. */
  #checkHeader(): void {
    const h = this.#header
    const filled = this.#headerFilled
    let problem: string | undefined
    if (filled >= 1 && h[0] !== SMUX_VERSION)
      problem = `unsupported version ${h[0]} (expected ${SMUX_VERSION})`
    else if (filled >= 2 && !isCommand(h[1] as number)) problem = `unknown cmd ${h[1]}`
    else if (filled >= 4 && h[1] !== SmuxCommand.Psh && h.readUInt16LE(2) !== 0) {
      problem = `cmd ${h[1]} carries ${h.readUInt16LE(2)} bytes of data`
    }
    if (problem === undefined) return
    this.#error = new ProtocolError(`smux: ${problem}`)
    throw this.#error
  }

  #complete(data: Buffer): SmuxFrame {
    const frame: SmuxFrame = {
      cmd: this.#header[1] as SmuxCommand,
      streamId: this.#header.readUInt32LE(4),
      data,
    }
    this.#headerFilled = 0
    this.#data = undefined
    this.#dataFilled = 0
    return frame
  }
}

export type SmuxRole = 'client' | 'server'

export type SmuxEvent =
  /** The peer opened a stream (its SYN). */
  | { type: 'open'; streamId: number }
  | { type: 'data'; streamId: number; data: Buffer }
  /** The peer sent its FIN: no more data will come on this stream. */
  | { type: 'fin'; streamId: number }
  /** Both sides have sent FIN; the session has forgotten the stream. Always right after its 'fin'. */
  | { type: 'closed'; streamId: number }
  /** A keepalive; streamId is the frame's (0 from xtaci). */
  | { type: 'nop'; streamId: number }

export interface SmuxSessionOptions {
  /** Most data per PSH frame we send; xtaci's MaxFrameSize, default 32768, at most 65535. */
  maxFrameData?: number
}

export interface SmuxStreamState {
  /** we sent FIN */
  localFin: boolean
  /** the peer sent FIN */
  remoteFin: boolean
}

/**
 * One end of an smux v1 session, sans I/O: calls queue outgoing frames, takeOutput hands them over as
 * one byte string, receive turns peer bytes into events. A stream half-closes on each side's FIN (we may
 * still write after the peer's FIN, and still receive after ours) and is forgotten when both have.
 * Like xtaci, frames for unknown streams and a SYN for a known one are ignored. No clock: the caller
 * sends keepalives and decides when a silent peer is dead.
 */
export class SmuxSession {
  readonly role: SmuxRole
  readonly #maxFrameData: number
  readonly #decoder = new SmuxDecoder()
  readonly #streams = new Map<number, SmuxStreamState>()
  #output: Buffer[] = []
  #outputLength = 0
  /** xtaci: the client starts at 1, the server at 0, and OpenStream adds 2 before use (3, 5… / 2, 4…). */
  #lastStreamId: number

  constructor(role: SmuxRole, opts: SmuxSessionOptions = {}) {
    const maxFrameData = opts.maxFrameData ?? SMUX_MAX_FRAME_DATA
    if (!Number.isInteger(maxFrameData) || maxFrameData < 1 || maxFrameData > MAX_LENGTH) {
      throw new RangeError(`smux: maxFrameData must be an integer from 1 to 65535, got ${maxFrameData}`)
    }
    this.role = role
    this.#maxFrameData = maxFrameData
    this.#lastStreamId = role === 'client' ? 1 : 0
  }

  /**
   * Open a stream and queue its SYN. Ids come as xtaci allocates them: the client's first is 3, then 5, 7…
   * (the server's 2, 4…); an id the peer already uses is skipped. Throws ProtocolError when the u32 id
   * space is used up (xtaci's ErrGoAway).
   */
  openStream(): number {
    let id = this.#lastStreamId
    do {
      id += 2
      if (id > MAX_STREAM_ID) throw new ProtocolError('smux: stream ids exhausted')
    } while (this.#streams.has(id))
    this.#lastStreamId = id
    this.#streams.set(id, { localFin: false, remoteFin: false })
    this.#queueFrame(SmuxCommand.Syn, id)
    return id
  }

  /** Queue data as PSH frames of at most maxFrameData bytes (none for empty data). Copies `data`. */
  write(streamId: number, data: Uint8Array): void {
    const stream = this.#streams.get(streamId)
    if (stream === undefined) throw new Error(`smux: write to stream ${streamId}, which is not open`)
    if (stream.localFin) throw new Error(`smux: write to stream ${streamId} after its FIN`)
    if (data.length === 0) return
    const frames = Math.ceil(data.length / this.#maxFrameData)
    const out = Buffer.allocUnsafe(frames * SMUX_HEADER_SIZE + data.length)
    let at = 0
    for (let from = 0; from < data.length; from += this.#maxFrameData) {
      at = writeFrame(out, at, SmuxCommand.Psh, streamId, data.subarray(from, from + this.#maxFrameData))
    }
    this.#queue(out)
  }

  /**
   * Queue our FIN, once; later calls and unknown ids do nothing. Returns true when this closed the stream
   * on both sides (the peer had sent FIN), so the session forgot it: no 'closed' event follows then.
   */
  close(streamId: number): boolean {
    const stream = this.#streams.get(streamId)
    if (stream === undefined || stream.localFin) return false
    stream.localFin = true
    this.#queueFrame(SmuxCommand.Fin, streamId)
    if (!stream.remoteFin) return false
    this.#streams.delete(streamId)
    return true
  }

  /** Queue a NOP on stream 0, as xtaci's keepalive does. */
  keepalive(): void {
    this.#queueFrame(SmuxCommand.Nop, 0)
  }

  /**
   * Peer bytes, cut anywhere. Throws ProtocolError on a malformed frame, and again on every later call.
   * Data after the peer's FIN on the same stream is dropped (a peer bug; xtaci never sends it).
   */
  receive(chunk: Uint8Array): SmuxEvent[] {
    const events: SmuxEvent[] = []
    for (const frame of this.#decoder.push(chunk)) {
      const { streamId } = frame
      const stream = this.#streams.get(streamId)
      switch (frame.cmd) {
        case SmuxCommand.Syn:
          if (stream !== undefined) break
          this.#streams.set(streamId, { localFin: false, remoteFin: false })
          events.push({ type: 'open', streamId })
          break
        case SmuxCommand.Psh:
          if (stream === undefined || stream.remoteFin || frame.data.length === 0) break
          events.push({ type: 'data', streamId, data: frame.data })
          break
        case SmuxCommand.Fin:
          if (stream === undefined || stream.remoteFin) break
          stream.remoteFin = true
          events.push({ type: 'fin', streamId })
          if (stream.localFin) {
            this.#streams.delete(streamId)
            events.push({ type: 'closed', streamId })
          }
          break
        case SmuxCommand.Nop:
          events.push({ type: 'nop', streamId })
          break
      }
    }
    return events
  }

  /** Every queued outgoing byte, in order, and the queue emptied; an empty Buffer when nothing is queued. */
  takeOutput(): Buffer {
    const parts = this.#output
    const length = this.#outputLength
    this.#output = []
    this.#outputLength = 0
    if (parts.length === 1) return parts[0] as Buffer
    return Buffer.concat(parts, length)
  }

  /** Outgoing bytes queued and not yet taken. */
  get outputLength(): number {
    return this.#outputLength
  }

  /** Ids of the streams not yet closed on both sides, in the order they were opened. */
  get streams(): number[] {
    return [...this.#streams.keys()]
  }

  /** Whether a stream is known and which sides have sent FIN; undefined once closed on both. */
  streamState(streamId: number): Readonly<SmuxStreamState> | undefined {
    const stream = this.#streams.get(streamId)
    return stream === undefined ? undefined : { ...stream }
  }

  #queueFrame(cmd: SmuxCommand, streamId: number): void {
    const out = Buffer.allocUnsafe(SMUX_HEADER_SIZE)
    writeFrame(out, 0, cmd, streamId, undefined)
    this.#queue(out)
  }

  #queue(bytes: Buffer): void {
    this.#output.push(bytes)
    this.#outputLength += bytes.length
  }
}
