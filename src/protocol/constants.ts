// Protocol constants of the Session Manager data channel.
// Every value cites its section in shared/docs/session-protocol.md so code and spec read side by side.

/** §2: offset of PayloadLength; the HeaderLength field holds this, not 120. */
export const HEADER_LENGTH = 116
/** §2: HeaderLength + the 4-byte PayloadLength; the payload starts here in frames we write. */
export const PAYLOAD_OFFSET = HEADER_LENGTH + 4
/** §2: MessageType is 32 ASCII bytes, right-padded with 0x20. */
export const MESSAGE_TYPE_LENGTH = 32
/** §2: both implementations write SchemaVersion 1 and nobody validates it. */
export const SCHEMA_VERSION = 1

/** §3.1 MessageType strings. */
export const MessageType = {
  InputStreamData: 'input_stream_data',
  OutputStreamData: 'output_stream_data',
  Acknowledge: 'acknowledge',
  ChannelClosed: 'channel_closed',
  StartPublication: 'start_publication',
  PausePublication: 'pause_publication',
  AgentSessionState: 'agent_session_state',
} as const
export type MessageTypeName = (typeof MessageType)[keyof typeof MessageType]
export type StreamMessageType = typeof MessageType.InputStreamData | typeof MessageType.OutputStreamData

/** §3.2 PayloadType numbers (plugin and agent agree). */
export const PayloadType = {
  /** Acks and channel_closed carry 0 (§3.1, §4). */
  None: 0,
  Output: 1,
  Error: 2,
  Size: 3,
  Parameter: 4,
  HandshakeRequest: 5,
  HandshakeResponse: 6,
  HandshakeComplete: 7,
  EncChallengeRequest: 8,
  EncChallengeResponse: 9,
  Flag: 10,
  StdErr: 11,
  ExitCode: 12,
} as const

/** §3.3 header Flags bits. Nobody reads them on receipt; a receiver must not depend on them. */
export const Flags = {
  None: 0,
  /** bit 0: set by the agent on its stream message seq 0 only. */
  Syn: 1,
  /** bit 1: defined, unused. */
  Fin: 2,
  /** Syn|Fin: what both sides put on acknowledge and other non-stream messages. */
  Control: 3,
} as const

/** §3.4 flag payload codes (PayloadType 10, 4-byte big-endian). */
export const FlagCode = {
  DisconnectToPort: 1,
  TerminateSession: 2,
  ConnectToPortError: 3,
} as const

/** §5.1 ActionType values in HandshakeRequest. */
export const ActionType = {
  SessionType: 'SessionType',
  KMSEncryption: 'KMSEncryption',
} as const

/** §5.2 ActionStatus values in HandshakeResponse. */
export const ActionStatus = {
  Success: 1,
  Failed: 2,
  Unsupported: 3,
} as const

/** §5.1 SessionType plugin names; SSH uses Port. */
export const SessionTypeName = {
  StandardStream: 'Standard_Stream',
  Port: 'Port',
  InteractiveCommands: 'InteractiveCommands',
  NonInteractiveCommands: 'NonInteractiveCommands',
} as const

// §6.3 retransmission timer (identical in plugin and agent).
/** §6.3: resend scheduler tick. */
export const RESEND_TICK_MS = 100
/** §6.3: DefaultTransmissionTimeout, the RTO before any sample. */
export const INITIAL_RTO_MS = 200
/** §6.3: initial smoothed round-trip time. */
export const INITIAL_RTT_MS = 100
/** §6.3: initial RTTVAR. */
export const INITIAL_RTTVAR_MS = 0
/** §6.3: α, RTT smoothing weight. */
export const RTT_ALPHA = 1 / 8
/** §6.3: β, RTTVAR smoothing weight. */
export const RTTVAR_BETA = 1 / 4
/** §6.3: clock granularity G, the only lower bound on the variance term. */
export const CLOCK_GRANULARITY_MS = 10
/** §6.3: RTO cap. */
export const MAX_RTO_MS = 1000
/** §6.3, §10: the plugin gives up on one message after 3000 resends (~5 min). The agent never gives up. */
export const RESEND_MAX_ATTEMPTS = 3000

/** §9: StreamDataPayloadSize, both sides. */
export const CHUNK_SIZE = 1024

// §6.2 buffer capacities.
/** §6.2: plugin incoming (out-of-order) buffer capacity. */
export const CLIENT_INCOMING_CAPACITY = 10_000
/** §6.2: agent incoming (out-of-order) buffer capacity. */
export const AGENT_INCOMING_CAPACITY = 100_000

/** §5, §10: the agent waits this long for the HandshakeResponse. */
export const HANDSHAKE_TIMEOUT_MS = 15_000
/** §1.2: OpenDataChannelInput MessageSchemaVersion. */
export const OPEN_DATA_CHANNEL_SCHEMA_VERSION = '1.0'
