import { describe, expect, it } from 'vitest'
import { decodeMessage, ProtocolError, parseMessage } from './message.ts'
import {
  acknowledgeContentFor,
  encodeAcknowledge,
  encodeAcknowledgeContent,
  encodeChannelClosed,
  encodeFlag,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
  encodeHandshakeResponse,
  encodeOpenDataChannelInput,
  parseAcknowledgeContent,
  parseChannelClosedContent,
  parseFlag,
  parseHandshakeComplete,
  parseHandshakeRequest,
  parseHandshakeResponse,
  parseOpenDataChannelInput,
  parseSessionTypeParameters,
} from './payloads.ts'

// JSON texts copied from shared/docs/session-protocol.md (§5.1, §5.2/§11.a, §5.3, §11.c, §11.d).
const handshakeRequestJson =
  '{"AgentVersion":"3.3.0.0","RequestedClientActions":[{"ActionType":"SessionType","ActionParameters":{"SessionType":"Port","Properties":{"portNumber":"22"}}}]}'
const handshakeResponseJson =
  '{"ClientVersion":"1.2.764.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}'
const handshakeCompleteJson = '{"HandshakeTimeToComplete":152000000,"CustomerMessage":""}'
const ackJson =
  '{"AcknowledgedMessageType":"input_stream_data","AcknowledgedMessageId":"00112233-4455-6677-8899-aabbccddeeff","AcknowledgedMessageSequenceNumber":1,"IsSequentialMessage":true}'
const channelClosedJson =
  '{"MessageId":"5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a","CreatedDate":"1700000000200","DestinationId":"i-0123456789abcdef0","SessionId":"alice-0123456789abcdef0","MessageType":"channel_closed","SchemaVersion":1,"Output":""}'

// §11.b frame ("hi", client seq 1), by hand.
const hiFrame = Buffer.from(
  '00000074696e7075745f73747265616d5f646174612020202020202020202020202020200000000100000' +
    '18bcfe56864000000000000000100000000000000008899aabbccddeeff00112233445566778f434346648f6b96' +
    'df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa400000001000000026869',
  'hex',
)

describe('acknowledge (§4)', () => {
  it('parses and re-encodes the §11.c payload byte for byte', () => {
    const ack = parseAcknowledgeContent(Buffer.from(ackJson))
    expect(ack).toEqual({
      AcknowledgedMessageType: 'input_stream_data',
      AcknowledgedMessageId: '00112233-4455-6677-8899-aabbccddeeff',
      AcknowledgedMessageSequenceNumber: 1,
      IsSequentialMessage: true,
    })
    expect(encodeAcknowledgeContent(ack).toString()).toBe(ackJson)
  })

  it('builds the §11.c frame for the §11.b message', () => {
    const frame = encodeAcknowledge(
      decodeMessage(hiFrame),
      1700000000150,
      'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
    )
    const m = parseMessage(frame, 'client')
    expect(m.messageType).toBe('acknowledge')
    expect([m.sequenceNumber, m.flags, m.payloadType]).toEqual([0, 3, 0])
    expect(m.payload.toString()).toBe(ackJson)
    expect(frame.length).toBe(295)
    expect(frame.subarray(80, 112).toString('hex')).toBe(
      'f001d4a8c292db15e35d0082bdcc1308306b88b0e580bc23d33e82704586fe37',
    )
  })

  it('acknowledgeContentFor copies type, id and seq', () => {
    expect(acknowledgeContentFor(decodeMessage(hiFrame)).AcknowledgedMessageSequenceNumber).toBe(1)
  })

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['a string seq', ackJson.replace(':1,', ':"1",')],
    ['a missing id', '{"AcknowledgedMessageType":"x","AcknowledgedMessageSequenceNumber":1}'],
    ['a non-bool IsSequentialMessage', ackJson.replace('true', '"yes"')],
  ])('rejects %s', (_name, json) => {
    expect(() => parseAcknowledgeContent(Buffer.from(json))).toThrow(ProtocolError)
  })
})

describe('handshake (§5)', () => {
  it('HandshakeRequest round-trips the §5.1 example', () => {
    const request = parseHandshakeRequest(Buffer.from(handshakeRequestJson))
    expect(request.AgentVersion).toBe('3.3.0.0')
    expect(request.RequestedClientActions).toHaveLength(1)
    expect(parseSessionTypeParameters(request.RequestedClientActions[0]!.ActionParameters)).toEqual({
      SessionType: 'Port',
      Properties: { portNumber: '22' },
    })
    expect(encodeHandshakeRequest(request).toString()).toBe(handshakeRequestJson)
  })

  it('HandshakeResponse encodes the §11.a payload with keys in spec order', () => {
    const payload = encodeHandshakeResponse({
      ClientVersion: '1.2.764.0',
      ProcessedClientActions: [{ ActionType: 'SessionType', ActionStatus: 1, ActionResult: null, Error: '' }],
      Errors: null,
    })
    expect(payload.toString()).toBe(handshakeResponseJson)
    expect(parseHandshakeResponse(payload).ProcessedClientActions[0]!.ActionStatus).toBe(1)
  })

  it('HandshakeComplete round-trips the §5.3 example', () => {
    const complete = parseHandshakeComplete(Buffer.from(handshakeCompleteJson))
    expect(complete).toEqual({ HandshakeTimeToComplete: 152000000, CustomerMessage: '' })
    expect(encodeHandshakeComplete(complete).toString()).toBe(handshakeCompleteJson)
  })

  it.each([
    [
      'request without AgentVersion',
      () => parseHandshakeRequest(Buffer.from('{"RequestedClientActions":[]}')),
    ],
    [
      'request with an object for actions',
      () => parseHandshakeRequest(Buffer.from('{"AgentVersion":"1","RequestedClientActions":{}}')),
    ],
    [
      'request action without ActionType',
      () => parseHandshakeRequest(Buffer.from('{"AgentVersion":"1","RequestedClientActions":[{}]}')),
    ],
    [
      'response with a string status',
      () => parseHandshakeResponse(Buffer.from(handshakeResponseJson.replace(':1,', ':"1",'))),
    ],
    [
      'response with numeric Errors',
      () =>
        parseHandshakeResponse(Buffer.from(handshakeResponseJson.replace('"Errors":null', '"Errors":[1]'))),
    ],
    [
      'complete with a float duration',
      () => parseHandshakeComplete(Buffer.from('{"HandshakeTimeToComplete":1.5}')),
    ],
    ['SessionType parameters that are null', () => parseSessionTypeParameters(null)],
  ])('rejects a %s', (_name, parse) => {
    expect(parse).toThrow(ProtocolError)
  })
})

describe('channel_closed (§7.1)', () => {
  it('builds the §11.d frame', () => {
    const frame = encodeChannelClosed({
      sessionId: 'alice-0123456789abcdef0',
      destinationId: 'i-0123456789abcdef0',
      createdDate: 1700000000200,
      messageId: '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a',
    })
    expect(frame.length).toBe(339)
    const m = parseMessage(frame, 'client')
    expect(m.payload.toString()).toBe(channelClosedJson)
    expect([m.sequenceNumber, m.flags, m.payloadType]).toEqual([0, 3, 0])
  })

  it('parses a payload without Output (the agent struct has none)', () => {
    const closed = parseChannelClosedContent(Buffer.from('{"SessionId":"s","MessageType":"channel_closed"}'))
    expect(closed.Output).toBe('')
    expect(closed.SessionId).toBe('s')
  })

  it('rejects a non-object payload', () => {
    expect(() => parseChannelClosedContent(Buffer.from('"closed"'))).toThrow(ProtocolError)
  })
})

describe('flag (§3.4)', () => {
  it('is a 4-byte big-endian code', () => {
    expect(encodeFlag(1).toString('hex')).toBe('00000001')
    expect(encodeFlag(2).toString('hex')).toBe('00000002')
    expect(parseFlag(Buffer.from('00000003', 'hex'))).toBe(3)
  })

  it.each([[0], [3], [5]])('rejects a %i-byte payload', (n) => {
    expect(() => parseFlag(Buffer.alloc(n))).toThrow(ProtocolError)
  })
})

describe('OpenDataChannelInput (§1.2)', () => {
  const text =
    '{"MessageSchemaVersion":"1.0","RequestId":"r-1","TokenValue":"tok","ClientId":"c-1","ClientVersion":"1.2.764.0"}'

  it('encodes keys in plugin order without whitespace and parses back', () => {
    const input = parseOpenDataChannelInput(text)
    expect(encodeOpenDataChannelInput(input)).toBe(text)
  })

  it('leaves out absent optional keys (older plugins, the agent)', () => {
    const input = { MessageSchemaVersion: '1.0', RequestId: 'r', TokenValue: 't' }
    expect(encodeOpenDataChannelInput(input)).toBe(
      '{"MessageSchemaVersion":"1.0","RequestId":"r","TokenValue":"t"}',
    )
    expect(parseOpenDataChannelInput(Buffer.from(encodeOpenDataChannelInput(input)))).toEqual(input)
  })

  it.each([
    ['no TokenValue', '{"MessageSchemaVersion":"1.0","RequestId":"r"}'],
    ['a numeric RequestId', '{"MessageSchemaVersion":"1.0","RequestId":1,"TokenValue":"t"}'],
    [
      'a non-string ClientVersion',
      '{"MessageSchemaVersion":"1.0","RequestId":"r","TokenValue":"t","ClientVersion":1}',
    ],
    ['not JSON', 'hello'],
  ])('rejects %s', (_name, json) => {
    expect(() => parseOpenDataChannelInput(json)).toThrow(ProtocolError)
  })
})
