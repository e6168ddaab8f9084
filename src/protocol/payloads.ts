// JSON (and flag) payloads of the data channel: acknowledge (§4), handshake (§5), channel_closed (§7.1),
// flag (§3.4). Interfaces use the wire's own key names so they read side by side with the spec.
// Encoders write keys in the spec's order without whitespace, as Go's encoding/json does.
// Parsers check the shape and throw ProtocolError; they ignore unknown keys, as Go does.

import { randomUUID } from 'node:crypto'
import { Flags, MessageType, PayloadType, type StreamMessageType } from './constants.ts'
import { type ClientMessage, encodeMessage, ProtocolError } from './message.ts'

// ---------------------------------------------------------------------------------------------------
// §1.2 OpenDataChannelInput: the first WebSocket frame, sent as *text*

export interface OpenDataChannelInput {
  /** Always "1.0" (OPEN_DATA_CHANNEL_SCHEMA_VERSION). */
  MessageSchemaVersion: string
  /** Fresh UUID v4 for every open/reconnect. */
  RequestId: string
  TokenValue: string
  /** UUID v4 made once per process, reused on reconnect. Absent from the agent's open frame. */
  ClientId?: string
  /** Omitted by plugins ≤ 1.2.650.0; ssm-ssh sends ≥ 1.2.764.0 (§1.2). */
  ClientVersion?: string
}

/** The text of the open frame, keys in plugin order, absent optional keys left out. */
export function encodeOpenDataChannelInput(input: OpenDataChannelInput): string {
  return JSON.stringify({
    MessageSchemaVersion: input.MessageSchemaVersion,
    RequestId: input.RequestId,
    TokenValue: input.TokenValue,
    ClientId: input.ClientId,
    ClientVersion: input.ClientVersion,
  })
}

/** Parses the open frame (text or bytes); MessageSchemaVersion, RequestId and TokenValue are required. */
export function parseOpenDataChannelInput(text: string | Uint8Array): OpenDataChannelInput {
  const what = 'OpenDataChannelInput'
  const o = parseObject(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, what)
  const input: OpenDataChannelInput = {
    MessageSchemaVersion: str(o, 'MessageSchemaVersion', what),
    RequestId: str(o, 'RequestId', what),
    TokenValue: str(o, 'TokenValue', what),
  }
  const clientId = optionalStr(o, 'ClientId', what)
  if (clientId !== undefined) input.ClientId = clientId
  const clientVersion = optionalStr(o, 'ClientVersion', what)
  if (clientVersion !== undefined) input.ClientVersion = clientVersion
  return input
}

// ---------------------------------------------------------------------------------------------------
// §4 acknowledge

export interface AcknowledgeContent {
  AcknowledgedMessageType: string
  AcknowledgedMessageId: string
  AcknowledgedMessageSequenceNumber: number
  IsSequentialMessage: boolean
}

/** The ack content for a received stream message (§4: IsSequentialMessage is always true). */
export function acknowledgeContentFor(message: ClientMessage): AcknowledgeContent {
  return {
    AcknowledgedMessageType: message.messageType,
    AcknowledgedMessageId: message.messageId,
    AcknowledgedMessageSequenceNumber: message.sequenceNumber,
    IsSequentialMessage: true,
  }
}

export function encodeAcknowledgeContent(ack: AcknowledgeContent): Buffer {
  return jsonBytes({
    AcknowledgedMessageType: ack.AcknowledgedMessageType,
    AcknowledgedMessageId: ack.AcknowledgedMessageId,
    AcknowledgedMessageSequenceNumber: ack.AcknowledgedMessageSequenceNumber,
    IsSequentialMessage: ack.IsSequentialMessage,
  })
}

export function parseAcknowledgeContent(payload: Uint8Array): AcknowledgeContent {
  const o = parseObject(payload, 'acknowledge')
  return {
    AcknowledgedMessageType: str(o, 'AcknowledgedMessageType', 'acknowledge'),
    AcknowledgedMessageId: str(o, 'AcknowledgedMessageId', 'acknowledge'),
    AcknowledgedMessageSequenceNumber: int(o, 'AcknowledgedMessageSequenceNumber', 'acknowledge'),
    IsSequentialMessage: optionalBool(o, 'IsSequentialMessage', 'acknowledge') ?? false,
  }
}

/** Full acknowledge frame for `acked` (§4 header: seq 0, Flags 3, PayloadType 0, fresh MessageId). */
export function encodeAcknowledge(acked: ClientMessage, createdDate: number, messageId?: string): Buffer {
  return encodeMessage({
    messageType: MessageType.Acknowledge,
    sequenceNumber: 0,
    flags: Flags.Control,
    payloadType: PayloadType.None,
    payload: encodeAcknowledgeContent(acknowledgeContentFor(acked)),
    createdDate,
    messageId: messageId ?? randomUUID(),
  })
}

// ---------------------------------------------------------------------------------------------------
// §5.1 HandshakeRequest (agent → client, PayloadType 5)

export interface RequestedClientAction {
  ActionType: string
  /** SessionType: { SessionType, Properties }; KMSEncryption: { KMSKeyId, Challenge }. */
  ActionParameters: unknown
}

export interface HandshakeRequest {
  AgentVersion: string
  RequestedClientActions: RequestedClientAction[]
}

/** ActionParameters of the SessionType action (§5.1). */
export interface SessionTypeParameters {
  SessionType: string
  Properties: unknown
}

export function encodeHandshakeRequest(request: HandshakeRequest): Buffer {
  return jsonBytes({
    AgentVersion: request.AgentVersion,
    RequestedClientActions: request.RequestedClientActions.map((a) => ({
      ActionType: a.ActionType,
      ActionParameters: a.ActionParameters,
    })),
  })
}

export function parseHandshakeRequest(payload: Uint8Array): HandshakeRequest {
  const what = 'HandshakeRequest'
  const o = parseObject(payload, what)
  return {
    AgentVersion: str(o, 'AgentVersion', what),
    RequestedClientActions: arrayOrNull(o, 'RequestedClientActions', what).map((item, i) => {
      const a = asObject(item, `${what}.RequestedClientActions[${i}]`)
      return {
        ActionType: str(a, 'ActionType', `${what}.RequestedClientActions[${i}]`),
        ActionParameters: a.ActionParameters ?? null,
      }
    }),
  }
}

/** Reads the SessionType action's parameters (§5.1); throws if they are not `{SessionType: string, ...}`. */
export function parseSessionTypeParameters(parameters: unknown): SessionTypeParameters {
  const what = 'SessionType ActionParameters'
  const o = asObject(parameters, what)
  return { SessionType: str(o, 'SessionType', what), Properties: o.Properties ?? null }
}

// ---------------------------------------------------------------------------------------------------
// §5.2 HandshakeResponse (client → agent, PayloadType 6)

export interface ProcessedClientAction {
  ActionType: string
  /** §5.2: 1 Success, 2 Failed, 3 Unsupported (the plugin may leave 0 for unknown types). */
  ActionStatus: number
  ActionResult: unknown
  Error: string
}

export interface HandshakeResponse {
  ClientVersion: string
  ProcessedClientActions: ProcessedClientAction[]
  /** `null` when there are none (Go nil slice). */
  Errors: string[] | null
}

export function encodeHandshakeResponse(response: HandshakeResponse): Buffer {
  return jsonBytes({
    ClientVersion: response.ClientVersion,
    ProcessedClientActions: response.ProcessedClientActions.map((a) => ({
      ActionType: a.ActionType,
      ActionStatus: a.ActionStatus,
      ActionResult: a.ActionResult ?? null,
      Error: a.Error,
    })),
    Errors: response.Errors,
  })
}

export function parseHandshakeResponse(payload: Uint8Array): HandshakeResponse {
  const what = 'HandshakeResponse'
  const o = parseObject(payload, what)
  const errors = o.Errors
  if (errors !== undefined && errors !== null && !(Array.isArray(errors) && errors.every(isString))) {
    throw new ProtocolError(`${what}: Errors must be an array of strings or null`)
  }
  return {
    ClientVersion: str(o, 'ClientVersion', what),
    ProcessedClientActions: arrayOrNull(o, 'ProcessedClientActions', what).map((item, i) => {
      const where = `${what}.ProcessedClientActions[${i}]`
      const a = asObject(item, where)
      return {
        ActionType: str(a, 'ActionType', where),
        ActionStatus: int(a, 'ActionStatus', where),
        ActionResult: a.ActionResult ?? null,
        Error: optionalStr(a, 'Error', where) ?? '',
      }
    }),
    Errors: (errors as string[] | null | undefined) ?? null,
  }
}

// ---------------------------------------------------------------------------------------------------
// §5.3 HandshakeComplete (agent → client, PayloadType 7)

export interface HandshakeComplete {
  /** Go time.Duration: nanoseconds. */
  HandshakeTimeToComplete: number
  CustomerMessage: string
}

export function encodeHandshakeComplete(complete: HandshakeComplete): Buffer {
  return jsonBytes({
    HandshakeTimeToComplete: complete.HandshakeTimeToComplete,
    CustomerMessage: complete.CustomerMessage,
  })
}

export function parseHandshakeComplete(payload: Uint8Array): HandshakeComplete {
  const what = 'HandshakeComplete'
  const o = parseObject(payload, what)
  return {
    HandshakeTimeToComplete: int(o, 'HandshakeTimeToComplete', what),
    CustomerMessage: optionalStr(o, 'CustomerMessage', what) ?? '',
  }
}

// ---------------------------------------------------------------------------------------------------
// §7.1 channel_closed (service → client)

export interface ChannelClosed {
  MessageId: string
  /** §7.1: a string; the sandbox writes epoch ms ([U]). */
  CreatedDate: string
  DestinationId: string
  SessionId: string
  MessageType: string
  SchemaVersion: number
  /** Reason text, `""` for a normal end; absent in the agent's struct. */
  Output: string
}

export function encodeChannelClosedContent(closed: ChannelClosed): Buffer {
  return jsonBytes({
    MessageId: closed.MessageId,
    CreatedDate: closed.CreatedDate,
    DestinationId: closed.DestinationId,
    SessionId: closed.SessionId,
    MessageType: closed.MessageType,
    SchemaVersion: closed.SchemaVersion,
    Output: closed.Output,
  })
}

export function parseChannelClosedContent(payload: Uint8Array): ChannelClosed {
  const what = 'channel_closed'
  const o = parseObject(payload, what)
  return {
    MessageId: optionalStr(o, 'MessageId', what) ?? '',
    CreatedDate: optionalStr(o, 'CreatedDate', what) ?? '',
    DestinationId: optionalStr(o, 'DestinationId', what) ?? '',
    SessionId: optionalStr(o, 'SessionId', what) ?? '',
    MessageType: optionalStr(o, 'MessageType', what) ?? '',
    SchemaVersion: o.SchemaVersion === undefined ? 0 : int(o, 'SchemaVersion', what),
    Output: optionalStr(o, 'Output', what) ?? '',
  }
}

export interface ChannelClosedFrameInput {
  sessionId: string
  destinationId: string
  output?: string
  createdDate: number
  messageId?: string
}

/**
 * Full channel_closed frame (§7.1, §12.1 rule 11 [U]): seq 0, Flags 3, PayloadType 0; the JSON repeats
 * the header's MessageId and carries CreatedDate as an epoch-ms string.
 */
export function encodeChannelClosed(input: ChannelClosedFrameInput): Buffer {
  const messageId = input.messageId ?? randomUUID()
  return encodeMessage({
    messageType: MessageType.ChannelClosed,
    sequenceNumber: 0,
    flags: Flags.Control,
    payloadType: PayloadType.None,
    createdDate: input.createdDate,
    messageId,
    payload: encodeChannelClosedContent({
      MessageId: messageId,
      CreatedDate: String(input.createdDate),
      DestinationId: input.destinationId,
      SessionId: input.sessionId,
      MessageType: MessageType.ChannelClosed,
      SchemaVersion: 1,
      Output: input.output ?? '',
    }),
  })
}

// ---------------------------------------------------------------------------------------------------
// §3.4 flag payload (PayloadType 10): uint32 big-endian

export function encodeFlag(code: number): Buffer {
  if (!Number.isInteger(code) || code < 0 || code > 0xffff_ffff) {
    throw new ProtocolError(`flag code must be a uint32, got ${code}`)
  }
  const payload = Buffer.alloc(4)
  payload.writeUInt32BE(code)
  return payload
}

/** parseFlag for receivers that drop what they cannot read (§2.2): undefined instead of a throw. */
export function tryParseFlag(payload: Uint8Array): number | undefined {
  try {
    return parseFlag(payload)
  } catch {
    return undefined
  }
}

export function parseFlag(payload: Uint8Array): number {
  if (payload.length !== 4) throw new ProtocolError(`flag payload must be 4 bytes, got ${payload.length}`)
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).readUInt32BE(0)
}

// ---------------------------------------------------------------------------------------------------
// Stream message types (§3.1): which type the peer uses for a given outgoing direction.

export function peerStreamType(outgoing: StreamMessageType): StreamMessageType {
  return outgoing === MessageType.InputStreamData ? MessageType.OutputStreamData : MessageType.InputStreamData
}

// ---------------------------------------------------------------------------------------------------
// helpers

type JsonObject = Record<string, unknown>

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8')
}

function parseObject(payload: Uint8Array, what: string): JsonObject {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'))
  } catch (error) {
    throw new ProtocolError(`${what} payload is not JSON`, { cause: error })
  }
  return asObject(value, what)
}

function asObject(value: unknown, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(`${what} must be a JSON object`)
  }
  return value as JsonObject
}

function isString(value: unknown): value is string {
  return typeof value === 'string'
}

function str(o: JsonObject, key: string, what: string): string {
  const value = o[key]
  if (typeof value !== 'string') throw new ProtocolError(`${what}: ${key} must be a string`)
  return value
}

function optionalStr(o: JsonObject, key: string, what: string): string | undefined {
  const value = o[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new ProtocolError(`${what}: ${key} must be a string`)
  return value
}

function int(o: JsonObject, key: string, what: string): number {
  const value = o[key]
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new ProtocolError(`${what}: ${key} must be an integer`)
  }
  return value
}

function optionalBool(o: JsonObject, key: string, what: string): boolean | undefined {
  const value = o[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') throw new ProtocolError(`${what}: ${key} must be a boolean`)
  return value
}

function arrayOrNull(o: JsonObject, key: string, what: string): unknown[] {
  const value = o[key]
  // Go decodes a missing or null slice as nil; treat both as empty.
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw new ProtocolError(`${what}: ${key} must be an array`)
  return value
}
