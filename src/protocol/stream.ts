// Per-direction reliable stream state of the data channel (§4, §6), shared by our client (transport/)
// and the sandbox's agent emulation. Pure: the caller owns the socket and the 100 ms timer and injects
// the clock; this module only decides which bytes to send and which messages to deliver.

import { randomUUID } from 'node:crypto'
import {
  AGENT_INCOMING_CAPACITY,
  CHUNK_SIZE,
  CLIENT_INCOMING_CAPACITY,
  CLOCK_GRANULARITY_MS,
  Flags,
  INITIAL_RTO_MS,
  INITIAL_RTT_MS,
  INITIAL_RTTVAR_MS,
  MAX_RTO_MS,
  MessageType,
  PAYLOAD_OFFSET,
  RESEND_MAX_ATTEMPTS,
  RTT_ALPHA,
  RTTVAR_BETA,
  type StreamMessageType,
} from './constants.ts'
import { type ClientMessage, encodeMessage, ProtocolError } from './message.ts'
import { type AcknowledgeContent, encodeAcknowledge, peerStreamType } from './payloads.ts'

/** A frame of a full chunk: header, payload length, CHUNK_SIZE payload bytes (§2). */
const FRAME_SLOT_SIZE = PAYLOAD_OFFSET + CHUNK_SIZE

export interface StreamOptions {
  /** Epoch milliseconds. Also stamps CreatedDate, so it must not return 0 (§2.2 rejects CreatedDate 0). */
  now: () => number
  /** Our direction: the client sends input_stream_data, the agent output_stream_data (§3.1). */
  outgoingType: 'input_stream_data' | 'output_stream_data'
  /** MessageIds for our stream messages and acks; defaults to random UUID v4. */
  newMessageId?: () => string
  /** §6.2 out-of-order buffer; defaults to 10000 for the client, 100000 for the agent. */
  incomingCapacity?: number
  /** §6.3 resends of one message before dueForResend throws; defaults to 3000 for the client, unlimited for the agent. */
  maxResendAttempts?: number
  /**
   * Write frames of up to CHUNK_SIZE payload bytes into a ring of this many slots instead of a fresh
   * buffer each; a slot is reused once the message that last used it is acknowledged. Only for a
   * sender whose socket copies each frame before send() returns: a frame handed out earlier changes
   * when its slot is reused.
   */
  frameSlots?: number
}

/** The oldest unacknowledged message was resent maxResendAttempts times (§6.3: the plugin then terminates the session). */
export class ResendLimitError extends ProtocolError {
  constructor(
    readonly sequenceNumber: number,
    readonly attempts: number,
  ) {
    super(`message ${sequenceNumber} was not acknowledged after ${attempts} resends`)
    this.name = 'ResendLimitError'
  }
}

export interface ReceiveResult {
  /** Acknowledge frame to send (after the delivered messages were processed, §4), if any. */
  ack?: Buffer
  /** Messages now deliverable, in sequence order; empty for duplicates and out-of-order arrivals. */
  deliver: ClientMessage[]
}

interface Outgoing {
  sequenceNumber: number
  frame: Buffer
  lastSentTime: number
  resendAttempts: number
}

export class ReliableStream {
  readonly #now: () => number
  readonly #outgoingType: StreamMessageType
  readonly #incomingType: StreamMessageType
  readonly #newMessageId: () => string
  readonly #incomingCapacity: number
  readonly #maxResendAttempts: number
  /** Unacked messages by sequence number; Map keeps insertion order, so the first entry is the oldest. */
  readonly #outgoing = new Map<number, Outgoing>()
  /** Out-of-order arrivals waiting for the gap to fill (§6.4). */
  readonly #incoming = new Map<number, ClientMessage>()
  #nextSequenceNumber = 0
  #expectedSequenceNumber = 0
  #rtt = INITIAL_RTT_MS
  #rttvar = INITIAL_RTTVAR_MS
  #rto = INITIAL_RTO_MS
  readonly #frameSlots: number
  #ring: Buffer | undefined
  /** the sequence number whose frame each ring slot holds, -1 for none */
  #slotOwners: Float64Array | undefined

  constructor(opts: StreamOptions) {
    const isClient = opts.outgoingType === MessageType.InputStreamData
    this.#now = opts.now
    this.#outgoingType = opts.outgoingType
    this.#incomingType = peerStreamType(opts.outgoingType)
    this.#newMessageId = opts.newMessageId ?? randomUUID
    this.#incomingCapacity =
      opts.incomingCapacity ?? (isClient ? CLIENT_INCOMING_CAPACITY : AGENT_INCOMING_CAPACITY)
    this.#maxResendAttempts =
      opts.maxResendAttempts ?? (isClient ? RESEND_MAX_ATTEMPTS : Number.POSITIVE_INFINITY)
    this.#frameSlots = opts.frameSlots ?? 0
  }

  /**
   * Frame the next stream message (§6.1: every payload type takes a number, starting at 0) and keep it
   * until acknowledged. Default Flags follow §3.3: the agent marks its seq 0 with SYN, the client sends 0.
   * The caller must send the returned frame now; its send time is taken to be `now()`.
   */
  send(payloadType: number, payload: Uint8Array, flags?: number): Buffer {
    const sequenceNumber = this.#nextSequenceNumber
    const defaultFlags =
      this.#outgoingType === MessageType.OutputStreamData && sequenceNumber === 0 ? Flags.Syn : Flags.None
    const frame = encodeMessage(
      {
        messageType: this.#outgoingType,
        sequenceNumber,
        flags: flags ?? defaultFlags,
        payloadType,
        payload,
        messageId: this.#newMessageId(),
        createdDate: this.#createdDate(),
      },
      this.#slot(sequenceNumber),
    )
    this.#claimSlot(sequenceNumber, frame)
    this.#nextSequenceNumber++
    this.#outgoing.set(sequenceNumber, {
      sequenceNumber,
      frame,
      lastSentTime: this.#now(),
      resendAttempts: 0,
    })
    return frame
  }

  /**
   * §4: match by sequence number only (type and MessageId are not compared), take an RTT sample, drop
   * the message. Unknown numbers (already acked, never sent) are ignored. Returns whether it matched.
   */
  onAcknowledge(ack: AcknowledgeContent): boolean {
    const entry = this.#outgoing.get(ack.AcknowledgedMessageSequenceNumber)
    if (entry === undefined) return false
    this.#updateRto(this.#now() - entry.lastSentTime)
    this.#outgoing.delete(entry.sequenceNumber)
    return true
  }

  /**
   * Call every RESEND_TICK_MS (§6.3). Looks at the oldest unacked message only; if more than RTO has
   * passed since it was last sent, returns its identical bytes (same seq, MessageId, CreatedDate) and
   * restarts its timer. At most one frame per tick, as both reference implementations do.
   * Throws ResendLimitError when that message is due again after maxResendAttempts resends.
   */
  dueForResend(): Buffer[] {
    const oldest = this.#outgoing.values().next().value
    if (oldest === undefined) return []
    const now = this.#now()
    if (now - oldest.lastSentTime <= this.#rto) return []
    if (oldest.resendAttempts >= this.#maxResendAttempts) {
      throw new ResendLimitError(oldest.sequenceNumber, oldest.resendAttempts)
    }
    oldest.resendAttempts++
    // The agent restarts the timer on resend; the plugin loses that update and resends every tick (§6.3
    // quirk). We follow the agent: one resend per RTO instead of ten per second.
    oldest.lastSentTime = now
    return [oldest.frame]
  }

  /**
   * Unacked messages whose RTO has elapsed, oldest first, timers restarted, at most `limit` of them.
   * The agent and the plugin resend only the oldest (§6.3); ssm-ssh's client allows a small burst, so
   * a few frames lost in one window come back together instead of one per RTO, without resending
   * the whole window each tick when acks stall (that flooded a faulty link with hundreds of
   * duplicates a second).
   */
  someDueForResend(limit: number): Buffer[] {
    const now = this.#now()
    const due: Buffer[] = []
    for (const entry of this.#outgoing.values()) {
      if (due.length >= limit) break
      if (now - entry.lastSentTime <= this.#rto) continue
      if (entry.resendAttempts >= this.#maxResendAttempts)
        throw new ResendLimitError(entry.sequenceNumber, entry.resendAttempts)
      entry.resendAttempts++
      entry.lastSentTime = now
      due.push(entry.frame)
    }
    return due
  }

  /** Every unacked frame, oldest first, timers restarted: to resend at once on a new socket (§7.3). */
  resendAll(): Buffer[] {
    const now = this.#now()
    return [...this.#outgoing.values()].map((entry) => {
      entry.lastSentTime = now
      return entry.frame
    })
  }

  /**
   * The ring slot for this message, if it is free: its last user (sequenceNumber - frameSlots) has been
   * acknowledged. A frame that does not fit, or a full ring, gets a buffer of its own. Unacknowledged
   * frames are kept for resending and so live long enough for V8 to move them to the old generation,
   * where a fresh buffer each is only freed by a full GC: uploads held ~18 MB of dead frames that way.
   */
  #slot(sequenceNumber: number): Buffer | undefined {
    if (this.#frameSlots === 0) return undefined
    const index = sequenceNumber % this.#frameSlots
    this.#slotOwners ??= new Float64Array(this.#frameSlots).fill(-1)
    // The slot's last user is not always sequenceNumber - frameSlots: that one may have had a buffer of
    // its own because the slot was busy then, with an older message still in it. With more than
    // frameSlots messages unacknowledged (a peer without a window, acks lost across a reconnect),
    // reusing the slot on that assumption overwrote a frame still kept for resending.
    const owner = this.#slotOwners[index] as number
    if (owner >= 0 && this.#outgoing.has(owner)) return undefined
    this.#ring ??= Buffer.allocUnsafeSlow(this.#frameSlots * FRAME_SLOT_SIZE)
    const start = index * FRAME_SLOT_SIZE
    return this.#ring.subarray(start, start + FRAME_SLOT_SIZE)
  }

  /** Record which message now lives in its ring slot (when its frame fitted there). */
  #claimSlot(sequenceNumber: number, frame: Buffer): void {
    if (!this.#ring || !this.#slotOwners || frame.buffer !== this.#ring.buffer) return
    this.#slotOwners[sequenceNumber % this.#frameSlots] = sequenceNumber
  }

  /** Stream messages sent and not yet acknowledged. */
  get unacknowledged(): number {
    return this.#outgoing.size
  }

  /** Resends so far of the oldest unacknowledged message (0 when none). */
  get oldestResendAttempts(): number {
    return this.#outgoing.values().next().value?.resendAttempts ?? 0
  }

  /** Current retransmission timeout in ms (§6.3). */
  get rto(): number {
    return this.#rto
  }

  /** Smoothed round-trip time in ms (§6.3). */
  get rtt(): number {
    return this.#rtt
  }

  get nextSequenceNumber(): number {
    return this.#nextSequenceNumber
  }

  /**
   * A peer stream message (validated by the caller). Implements the agent's ack table of §4, which the
   * spec recommends for ssm-ssh too: in order → ack and deliver it plus any buffered successors; ahead →
   * ack and buffer (no ack when the buffer is full, so the peer resends); behind (duplicate) → re-ack
   * so a lost ack heals. Send the returned ack after processing `deliver`.
   * Call this only when ready to process the message: to refuse one (§4 "handler not ready"), drop the
   * frame without calling receive, and the peer will resend it.
   */
  receive(message: ClientMessage): ReceiveResult {
    if (message.messageType !== this.#incomingType) {
      throw new ProtocolError(`expected ${this.#incomingType}, got ${message.messageType}`)
    }
    const seq = message.sequenceNumber
    if (seq === this.#expectedSequenceNumber) {
      const deliver = [message]
      this.#expectedSequenceNumber++
      let next = this.#incoming.get(this.#expectedSequenceNumber)
      while (next !== undefined) {
        this.#incoming.delete(this.#expectedSequenceNumber)
        deliver.push(next)
        this.#expectedSequenceNumber++
        next = this.#incoming.get(this.#expectedSequenceNumber)
      }
      return { ack: this.#ackFor(message), deliver }
    }
    if (seq > this.#expectedSequenceNumber) {
      if (this.#incoming.has(seq)) return { ack: this.#ackFor(message), deliver: [] }
      if (this.#incoming.size >= this.#incomingCapacity) return { deliver: [] }
      this.#incoming.set(seq, message)
      return { ack: this.#ackFor(message), deliver: [] }
    }
    return { ack: this.#ackFor(message), deliver: [] }
  }

  /** Next in-order sequence number we are waiting for from the peer (§6.1). */
  get expectedSequenceNumber(): number {
    return this.#expectedSequenceNumber
  }

  /** Out-of-order messages waiting for a gap to fill. */
  get bufferedIncoming(): number {
    return this.#incoming.size
  }

  /** §6.3 TCP-style smoothing; RTTVAR uses the old RTT, no Karn's rule, no lower bound but G. */
  #updateRto(sample: number): void {
    this.#rttvar = (1 - RTTVAR_BETA) * this.#rttvar + RTTVAR_BETA * Math.abs(this.#rtt - sample)
    this.#rtt = (1 - RTT_ALPHA) * this.#rtt + RTT_ALPHA * sample
    this.#rto = Math.min(MAX_RTO_MS, this.#rtt + Math.max(CLOCK_GRANULARITY_MS, 4 * this.#rttvar))
  }

  #ackFor(message: ClientMessage): Buffer {
    return encodeAcknowledge(message, this.#createdDate(), this.#newMessageId())
  }

  /** CreatedDate must be a non-zero integer (§2.2); a fake clock at 0 or a fractional clock must not break frames. */
  #createdDate(): number {
    return Math.max(1, Math.floor(this.#now()))
  }
}

/** Split data into ≤ size-byte views (§9: 1024 on both sides). No copy; empty input gives no chunks. */
export function chunk(data: Uint8Array, size = CHUNK_SIZE): Uint8Array[] {
  if (!Number.isInteger(size) || size <= 0)
    throw new RangeError(`chunk size must be a positive integer, got ${size}`)
  const chunks: Uint8Array[] = []
  for (let offset = 0; offset < data.length; offset += size) chunks.push(data.subarray(offset, offset + size))
  return chunks
}
