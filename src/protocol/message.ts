// ClientMessage codec: the binary frame of §2 of shared/docs/session-protocol.md.
// Pure: bytes in, values out. Never throws anything but ProtocolError on bad input,
// because a frame that crashes a reader is how the official plugin's listener dies (§2.2).

import { createHash, randomUUID } from 'node:crypto'
import {
  HEADER_LENGTH,
  MESSAGE_TYPE_LENGTH,
  MessageType,
  PAYLOAD_OFFSET,
  SCHEMA_VERSION,
} from './constants.ts'

export { HEADER_LENGTH } from './constants.ts'

/** A frame or payload that breaks §2–§5. Callers drop the frame (no ack), as plugin and agent do (§2.2). */
export class ProtocolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ProtocolError'
  }
}

/** A decoded frame; field names follow §2. */
export interface ClientMessage {
  headerLength: number
  messageType: string
  schemaVersion: number
  /** Unix epoch milliseconds. */
  createdDate: number
  sequenceNumber: number
  flags: number
  /** Canonical lowercase hyphenated UUID (§2.1), halves already un-swapped. */
  messageId: string
  payloadDigest: Buffer
  payloadType: number
  /** As written by the sender; not compared with payload.length (§2.2). */
  payloadLength: number
  payload: Buffer
}

export interface NewMessage {
  messageType: string
  sequenceNumber: number
  flags: number
  payloadType: number
  payload: Uint8Array
  /** Defaults to a fresh random UUID v4. */
  messageId?: string
  /** Epoch ms; defaults to Date.now(). Pass the injected clock for reproducible frames. */
  createdDate?: number
  schemaVersion?: number
}

// §2 field offsets.
const OFF_HEADER_LENGTH = 0
const OFF_MESSAGE_TYPE = 4
const OFF_SCHEMA_VERSION = 36
const OFF_CREATED_DATE = 40
const OFF_SEQUENCE_NUMBER = 48
const OFF_FLAGS = 56
const OFF_MESSAGE_ID = 64
const OFF_PAYLOAD_DIGEST = 80
const OFF_PAYLOAD_TYPE = 112
const OFF_PAYLOAD_LENGTH = 116
const DIGEST_LENGTH = 32
const UINT32_MAX = 0xffff_ffff

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** SHA-256 of the payload bytes (§2, PayloadDigest). */
export function digestPayload(payload: Uint8Array): Buffer {
  return createHash('sha256').update(payload).digest()
}

/**
 * Serialise a message; PayloadLength and PayloadDigest are always recomputed from the payload (§2).
 * With `into` (at least as long as the frame), the frame is written at its start and returned as a
 * view of it; every byte of the frame is written, so `into` may hold an earlier frame.
 */
export function encodeMessage(m: NewMessage, into?: Buffer): Buffer {
  const typeBytes = Buffer.from(m.messageType, 'utf8')
  if (typeBytes.length > MESSAGE_TYPE_LENGTH) {
    // Same text as the Go serializers (§2 MessageType row).
    throw new ProtocolError('Not enough space to save the string.')
  }
  const payload = m.payload
  if (payload.length > UINT32_MAX) throw new ProtocolError('payload is too large for PayloadLength')
  const size = PAYLOAD_OFFSET + payload.length
  const frame = into && into.length >= size ? into.subarray(0, size) : Buffer.alloc(size)
  frame.writeUInt32BE(HEADER_LENGTH, OFF_HEADER_LENGTH)
  // §2: the whole 32-byte field is 0x20 first, then the name is copied left-aligned.
  frame.fill(0x20, OFF_MESSAGE_TYPE, OFF_MESSAGE_TYPE + MESSAGE_TYPE_LENGTH)
  typeBytes.copy(frame, OFF_MESSAGE_TYPE)
  frame.writeUInt32BE(checkUint32(m.schemaVersion ?? SCHEMA_VERSION, 'SchemaVersion'), OFF_SCHEMA_VERSION)
  frame.writeBigUInt64BE(toBigUint64(m.createdDate ?? Date.now(), 'CreatedDate'), OFF_CREATED_DATE)
  frame.writeBigInt64BE(toBigInt64(m.sequenceNumber, 'SequenceNumber'), OFF_SEQUENCE_NUMBER)
  frame.writeBigUInt64BE(toBigUint64(m.flags, 'Flags'), OFF_FLAGS)
  writeMessageId(frame, m.messageId ?? randomUUID())
  digestPayload(payload).copy(frame, OFF_PAYLOAD_DIGEST)
  frame.writeUInt32BE(checkUint32(m.payloadType, 'PayloadType'), OFF_PAYLOAD_TYPE)
  frame.writeUInt32BE(payload.length, OFF_PAYLOAD_LENGTH)
  frame.set(payload, PAYLOAD_OFFSET)
  return frame
}

/**
 * Parse a frame (§2.2). Like the Go readers it does not compare PayloadLength with the real length and
 * takes the payload from HeaderLength + 4 to the end. Unlike them it throws instead of panicking
 * when HeaderLength points past the frame. Call validateMessage afterwards.
 */
export function decodeMessage(frame: Uint8Array): ClientMessage {
  if (frame.length < PAYLOAD_OFFSET) {
    throw new ProtocolError(
      `Offset is outside the byte array. (frame of ${frame.length} bytes, header needs 120)`,
    )
  }
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)
  const headerLength = buf.readUInt32BE(OFF_HEADER_LENGTH)
  const payloadStart = headerLength + 4
  if (payloadStart > buf.length) {
    throw new ProtocolError(`HeaderLength ${headerLength} is past the end of a ${buf.length}-byte frame`)
  }
  const sequence = buf.readBigInt64BE(OFF_SEQUENCE_NUMBER)
  if (sequence > BigInt(Number.MAX_SAFE_INTEGER) || sequence < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ProtocolError(`SequenceNumber ${sequence} is out of range`)
  }
  return {
    headerLength,
    messageType: readMessageType(buf),
    schemaVersion: buf.readUInt32BE(OFF_SCHEMA_VERSION),
    // Nobody compares CreatedDate or Flags beyond "non-zero", so a lossy Number is harmless here.
    createdDate: Number(buf.readBigUInt64BE(OFF_CREATED_DATE)),
    sequenceNumber: Number(sequence),
    flags: Number(buf.readBigUInt64BE(OFF_FLAGS)),
    messageId: readMessageId(buf),
    payloadDigest: Buffer.from(buf.subarray(OFF_PAYLOAD_DIGEST, OFF_PAYLOAD_DIGEST + DIGEST_LENGTH)),
    payloadType: buf.readUInt32BE(OFF_PAYLOAD_TYPE),
    payloadLength: buf.readUInt32BE(OFF_PAYLOAD_LENGTH),
    payload: Buffer.from(buf.subarray(payloadStart)),
  }
}

/**
 * §2.2 Validate. The client (plugin) lets start/pause_publication through unchecked and verifies the
 * digest when PayloadLength ≠ 0; the agent checks only the first three rules. Texts match the Go code.
 */
export function validateMessage(m: ClientMessage, receiver: 'client' | 'agent'): void {
  if (
    receiver === 'client' &&
    (m.messageType === MessageType.StartPublication || m.messageType === MessageType.PausePublication)
  ) {
    return
  }
  if (m.headerLength === 0) throw new ProtocolError('HeaderLength cannot be zero')
  if (m.messageType === '') throw new ProtocolError('MessageType is missing')
  if (m.createdDate === 0) throw new ProtocolError('CreatedDate is missing')
  if (receiver === 'client' && m.payloadLength !== 0 && !digestPayload(m.payload).equals(m.payloadDigest)) {
    throw new ProtocolError('payload Hash is not valid')
  }
}

/** decodeMessage + validateMessage: what a receiver does with every binary frame. */
export function parseMessage(frame: Uint8Array, receiver: 'client' | 'agent'): ClientMessage {
  const message = decodeMessage(frame)
  validateMessage(message, receiver)
  return message
}

/** §2: strip leading/trailing NULs, then whitespace. */
function readMessageType(buf: Buffer): string {
  return buf
    .toString('latin1', OFF_MESSAGE_TYPE, OFF_MESSAGE_TYPE + MESSAGE_TYPE_LENGTH)
    .replace(/^\0+|\0+$/g, '')
    .trim()
}

/** §2.1: on the wire the UUID's bytes 8–15 come first, then bytes 0–7. */
function writeMessageId(frame: Buffer, id: string): void {
  if (!UUID_PATTERN.test(id)) throw new ProtocolError(`MessageId is not a UUID: ${JSON.stringify(id)}`)
  const bytes = Buffer.from(id.replaceAll('-', ''), 'hex')
  bytes.copy(frame, OFF_MESSAGE_ID, 8, 16)
  bytes.copy(frame, OFF_MESSAGE_ID + 8, 0, 8)
}

function readMessageId(buf: Buffer): string {
  const hex =
    buf.toString('hex', OFF_MESSAGE_ID + 8, OFF_MESSAGE_ID + 16) +
    buf.toString('hex', OFF_MESSAGE_ID, OFF_MESSAGE_ID + 8)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

function checkUint32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
    throw new ProtocolError(`${field} must be a uint32, got ${value}`)
  }
  return value
}

function toBigUint64(value: number, field: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ProtocolError(`${field} must be a uint64, got ${value}`)
  return BigInt(value)
}

function toBigInt64(value: number, field: string): bigint {
  if (!Number.isSafeInteger(value)) throw new ProtocolError(`${field} must be an int64, got ${value}`)
  return BigInt(value)
}
