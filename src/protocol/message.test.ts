import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeMessage,
  encodeMessage,
  HEADER_LENGTH,
  ProtocolError,
  parseMessage,
  validateMessage,
} from './message.ts'

// Vectors from shared/docs/session-protocol.md §11, typed in by hand field by field.
// They must never be produced by our own encoder: the sandbox shares this codec, so a symmetric bug
// would otherwise pass every end-to-end test.
const hex = (...parts: string[]): Buffer => Buffer.from(parts.join('').replaceAll(' ', ''), 'hex')
const spaces = (n: number): string => '20'.repeat(n)
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

interface Vector {
  name: string
  frame: Buffer
  type: string
  createdDate: number
  seq: number
  flags: number
  messageId: string
  digest: string
  payloadType: number
  payload: Buffer
  length: number
}

const handshakeResponseJson =
  '{"ClientVersion":"1.2.764.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}'
const ackJson =
  '{"AcknowledgedMessageType":"input_stream_data","AcknowledgedMessageId":"00112233-4455-6677-8899-aabbccddeeff","AcknowledgedMessageSequenceNumber":1,"IsSequentialMessage":true}'
const channelClosedJson =
  '{"MessageId":"5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a","CreatedDate":"1700000000200","DestinationId":"i-0123456789abcdef0","SessionId":"alice-0123456789abcdef0","MessageType":"channel_closed","SchemaVersion":1,"Output":""}'

const vectors: Vector[] = [
  {
    name: '11.a HandshakeResponse',
    frame: hex(
      '00000074',
      `696e7075745f73747265616d5f64617461${spaces(15)}`,
      '00000001',
      '0000018bcfe56800',
      '0000000000000000',
      '0000000000000000',
      '8695a4b3c2d1e0f0',
      '0f1e2d3c4b5a4978',
      '651594cbd5932394f34f330d7368764e50a5577b0452185c3531f77996615a46',
      '00000006',
      '00000093',
      Buffer.from(handshakeResponseJson).toString('hex'),
    ),
    type: 'input_stream_data',
    createdDate: 1700000000000,
    seq: 0,
    flags: 0,
    messageId: '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0',
    digest: '651594cbd5932394f34f330d7368764e50a5577b0452185c3531f77996615a46',
    payloadType: 6,
    payload: Buffer.from(handshakeResponseJson),
    length: 267,
  },
  {
    name: '11.b input_stream_data "hi"',
    frame: hex(
      '00000074 696e7075745f73747265616d5f64617461202020202020202020202020202020',
      '00000001 0000018bcfe56864 0000000000000001 0000000000000000',
      '8899aabbccddeeff0011223344556677',
      '8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4',
      '00000001 00000002 6869',
    ),
    type: 'input_stream_data',
    createdDate: 1700000000100,
    seq: 1,
    flags: 0,
    messageId: '00112233-4455-6677-8899-aabbccddeeff',
    digest: '8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4',
    payloadType: 1,
    payload: Buffer.from('hi'),
    length: 122,
  },
  {
    name: '11.c acknowledge',
    frame: hex(
      '00000074',
      `61636b6e6f776c65646765${spaces(21)}`,
      '00000001',
      '0000018bcfe56896',
      '0000000000000000',
      '0000000000000003',
      '8c9d0e1f2a3b4c5d',
      'a1b2c3d4e5f64a7b',
      'f001d4a8c292db15e35d0082bdcc1308306b88b0e580bc23d33e82704586fe37',
      '00000000',
      '000000af',
      Buffer.from(ackJson).toString('hex'),
    ),
    type: 'acknowledge',
    createdDate: 1700000000150,
    seq: 0,
    flags: 3,
    messageId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
    digest: 'f001d4a8c292db15e35d0082bdcc1308306b88b0e580bc23d33e82704586fe37',
    payloadType: 0,
    payload: Buffer.from(ackJson),
    length: 295,
  },
  {
    name: '11.d channel_closed',
    frame: hex(
      '00000074',
      `6368616e6e656c5f636c6f736564${spaces(18)}`,
      '00000001',
      '0000018bcfe568c8',
      '0000000000000000',
      '0000000000000003',
      '8b7a6f5e4d3c2b1a',
      '5d4c3b2a1f0e4d9c',
      '924f0b163c09a899473c72a0335cf6f7dad46493ff26f776d974bd284b998814',
      '00000000',
      '000000db',
      Buffer.from(channelClosedJson).toString('hex'),
    ),
    type: 'channel_closed',
    createdDate: 1700000000200,
    seq: 0,
    flags: 3,
    messageId: '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a',
    digest: '924f0b163c09a899473c72a0335cf6f7dad46493ff26f776d974bd284b998814',
    payloadType: 0,
    payload: Buffer.from(channelClosedJson),
    length: 339,
  },
  {
    name: '11.e output_stream_data "ok"',
    frame: hex(
      '00000074',
      `6f75747075745f73747265616d5f64617461${spaces(14)}`,
      '00000001',
      '0000018bcfe5692c',
      '0000000000000002',
      '0000000000000000',
      '89abcdef01234567c0ffee0012344567',
      '2689367b205c16ce32ed4200942b8b8b1e262dfc70d9bc9fbc77c49699a4f1df',
      '00000001',
      '00000002',
      '6f6b',
    ),
    type: 'output_stream_data',
    createdDate: 1700000000300,
    seq: 2,
    flags: 0,
    messageId: 'c0ffee00-1234-4567-89ab-cdef01234567',
    digest: '2689367b205c16ce32ed4200942b8b8b1e262dfc70d9bc9fbc77c49699a4f1df',
    payloadType: 1,
    payload: Buffer.from('ok'),
    length: 122,
  },
  {
    name: '11.e DisconnectToPort flag',
    frame: hex(
      '00000074',
      `696e7075745f73747265616d5f64617461${spaces(15)}`,
      '00000001',
      '0000018bcfe56990',
      '0000000000000002',
      '0000000000000000',
      '8000000000000001deadbeef00004000',
      'b40711a88c7039756fb8a73827eabe2c0fe5a0346ca7e0a104adc0fc764f528d',
      '0000000a',
      '00000004',
      '00000001',
    ),
    type: 'input_stream_data',
    createdDate: 1700000000400,
    seq: 2,
    flags: 0,
    messageId: 'deadbeef-0000-4000-8000-000000000001',
    digest: 'b40711a88c7039756fb8a73827eabe2c0fe5a0346ca7e0a104adc0fc764f528d',
    payloadType: 10,
    payload: hex('00000001'),
    length: 124,
  },
]

describe('§11 byte vectors', () => {
  it('CreatedDate 1700000000000 is 0x18BCFE56800 (spec note)', () => {
    expect((1700000000000).toString(16)).toBe('18bcfe56800')
  })

  for (const v of vectors) {
    describe(v.name, () => {
      it('has the stated total length', () => {
        expect(v.frame.length).toBe(v.length)
      })

      it('spec digest equals SHA-256 of the payload, recomputed here', () => {
        expect(sha256(v.payload)).toBe(v.digest)
      })

      it('decodes every field', () => {
        const m = decodeMessage(v.frame)
        expect(m.headerLength).toBe(116)
        expect(m.messageType).toBe(v.type)
        expect(m.schemaVersion).toBe(1)
        expect(m.createdDate).toBe(v.createdDate)
        expect(m.sequenceNumber).toBe(v.seq)
        expect(m.flags).toBe(v.flags)
        expect(m.messageId).toBe(v.messageId)
        expect(m.payloadDigest.toString('hex')).toBe(v.digest)
        expect(m.payloadType).toBe(v.payloadType)
        expect(m.payloadLength).toBe(v.payload.length)
        expect(m.payload.equals(v.payload)).toBe(true)
        expect(() => validateMessage(m, 'client')).not.toThrow()
        expect(() => validateMessage(m, 'agent')).not.toThrow()
      })

      it('encodes the same inputs to the same bytes', () => {
        const frame = encodeMessage({
          messageType: v.type,
          sequenceNumber: v.seq,
          flags: v.flags,
          payloadType: v.payloadType,
          payload: v.payload,
          messageId: v.messageId,
          createdDate: v.createdDate,
        })
        expect(frame.toString('hex')).toBe(v.frame.toString('hex'))
      })
    })
  }
})

describe('encodeMessage', () => {
  it('writes HeaderLength 116, not 120', () => {
    expect(HEADER_LENGTH).toBe(116)
  })

  it('accepts an upper-case MessageId and decodes it lower-case', () => {
    const frame = encodeMessage({
      messageType: 'acknowledge',
      sequenceNumber: 0,
      flags: 3,
      payloadType: 0,
      payload: Buffer.alloc(0),
      messageId: 'A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D',
      createdDate: 1,
    })
    expect(decodeMessage(frame).messageId).toBe('a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d')
  })

  it.each([
    ['a type longer than 32 bytes', { messageType: 'x'.repeat(33) }, 'Not enough space to save the string.'],
    ['a MessageId that is not a UUID', { messageId: 'not-a-uuid' }, 'MessageId is not a UUID'],
    ['a fractional sequence number', { sequenceNumber: 1.5 }, 'SequenceNumber'],
    ['a negative PayloadType', { payloadType: -1 }, 'PayloadType'],
  ])('rejects %s', (_name, override, text) => {
    const base = {
      messageType: 'input_stream_data',
      sequenceNumber: 0,
      flags: 0,
      payloadType: 1,
      payload: Buffer.from('x'),
    }
    expect(() => encodeMessage({ ...base, ...override })).toThrow(ProtocolError)
    expect(() => encodeMessage({ ...base, ...override })).toThrow(text)
  })
})

describe('malformed frames', () => {
  const good = (): Buffer => Buffer.from(vectors[1]!.frame)
  const withUint32 = (offset: number, value: number): Buffer => {
    const f = good()
    f.writeUInt32BE(value, offset)
    return f
  }
  const withBytes = (offset: number, bytes: Buffer): Buffer => {
    const f = good()
    bytes.copy(f, offset)
    return f
  }

  it.each([
    ['an empty frame', Buffer.alloc(0)],
    ['a 119-byte header', good().subarray(0, 119)],
    ['HeaderLength past the end', withUint32(0, 200)],
    ['HeaderLength 0xffffffff', withUint32(0, 0xffff_ffff)],
  ])('decode throws ProtocolError on %s', (_name, frame) => {
    expect(() => decodeMessage(frame)).toThrow(ProtocolError)
  })

  it.each([
    ['HeaderLength 0', withUint32(0, 0), 'HeaderLength cannot be zero'],
    ['an all-space MessageType', withBytes(4, Buffer.alloc(32, 0x20)), 'MessageType is missing'],
    ['an all-NUL MessageType', withBytes(4, Buffer.alloc(32, 0)), 'MessageType is missing'],
    ['CreatedDate 0', withBytes(40, Buffer.alloc(8)), 'CreatedDate is missing'],
  ])('both receivers reject %s', (_name, frame, text) => {
    for (const receiver of ['client', 'agent'] as const) {
      expect(() => parseMessage(frame, receiver)).toThrow(ProtocolError)
      expect(() => parseMessage(frame, receiver)).toThrow(text)
    }
  })

  it('a bad digest is rejected by the client but accepted by the agent (§2.2)', () => {
    const frame = withBytes(80, Buffer.alloc(32, 0xab))
    expect(() => parseMessage(frame, 'client')).toThrow(new ProtocolError('payload Hash is not valid'))
    expect(parseMessage(frame, 'agent').payload.toString()).toBe('hi')
  })

  it('the client skips the digest check when PayloadLength is 0, even with payload bytes present', () => {
    const frame = withUint32(116, 0)
    frame.fill(0xab, 80, 112)
    expect(parseMessage(frame, 'client').payload.toString()).toBe('hi')
  })

  it('the client lets start/pause_publication through without other checks', () => {
    const frame = withBytes(4, Buffer.from(`pause_publication${' '.repeat(15)}`))
    Buffer.alloc(8).copy(frame, 40)
    expect(parseMessage(frame, 'client').messageType).toBe('pause_publication')
    expect(() => parseMessage(frame, 'agent')).toThrow('CreatedDate is missing')
  })

  it('strips NUL padding as well as space padding from MessageType', () => {
    const type = Buffer.alloc(32)
    type.write('\0\0input_stream_data')
    expect(decodeMessage(withBytes(4, type)).messageType).toBe('input_stream_data')
  })

  it('takes the payload from HeaderLength + 4 and ignores PayloadLength (§2.2)', () => {
    const frame = Buffer.concat([withUint32(0, 117), Buffer.from('!')])
    const m = decodeMessage(frame)
    expect(m.payload.toString()).toBe('i!')
    expect(m.payloadLength).toBe(2)
  })

  it('never throws anything but ProtocolError on random bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom('client', 'agent'),
        (bytes, receiver) => {
          try {
            parseMessage(bytes, receiver)
          } catch (error) {
            expect(error).toBeInstanceOf(ProtocolError)
          }
        },
      ),
    )
  })
})

describe('round trip', () => {
  it('decode(encode(m)) returns m', () => {
    fc.assert(
      fc.property(
        fc.record({
          messageType: fc.stringMatching(/^[a-z_]{1,32}$/),
          sequenceNumber: fc.maxSafeInteger(),
          flags: fc.maxSafeNat(),
          payloadType: fc.integer({ min: 0, max: 0xffff_ffff }),
          payload: fc.uint8Array({ maxLength: 2048 }),
          messageId: fc.uuid(),
          createdDate: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          schemaVersion: fc.integer({ min: 0, max: 0xffff_ffff }),
        }),
        (input) => {
          const frame = encodeMessage(input)
          expect(frame.length).toBe(120 + input.payload.length)
          const m = parseMessage(frame, 'client')
          expect(m).toEqual({
            headerLength: 116,
            messageType: input.messageType,
            schemaVersion: input.schemaVersion,
            createdDate: input.createdDate,
            sequenceNumber: input.sequenceNumber,
            flags: input.flags,
            messageId: input.messageId.toLowerCase(),
            payloadDigest: createHash('sha256').update(input.payload).digest(),
            payloadType: input.payloadType,
            payloadLength: input.payload.length,
            payload: Buffer.from(input.payload),
          })
        },
      ),
    )
  })
})
