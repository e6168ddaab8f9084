import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PayloadType } from './constants.ts'
import { type ClientMessage, decodeMessage, encodeMessage, parseMessage } from './message.ts'
import { parseAcknowledgeContent } from './payloads.ts'
import { chunk, ReliableStream, ResendLimitError, type StreamOptions } from './stream.ts'

// A fake clock: tests move time by hand, nothing sleeps.
function fakeClock(start = 1_700_000_000_000) {
  let t = start
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms
    },
  }
}

function ids(prefix: string): () => string {
  let n = 0
  return () => `${prefix}-0000-4000-8000-${(n++).toString(16).padStart(12, '0')}`
}

function clientStream(clock = fakeClock(), extra: Partial<StreamOptions> = {}) {
  return new ReliableStream({
    now: clock.now,
    outgoingType: 'input_stream_data',
    newMessageId: ids('c0000000'),
    ...extra,
  })
}

function agentStream(clock = fakeClock(), extra: Partial<StreamOptions> = {}) {
  return new ReliableStream({
    now: clock.now,
    outgoingType: 'output_stream_data',
    newMessageId: ids('a0000000'),
    ...extra,
  })
}

/** An agent→client stream message as the peer would send it. */
function output(seq: number, text = `m${seq}`): ClientMessage {
  return decodeMessage(
    encodeMessage({
      messageType: 'output_stream_data',
      sequenceNumber: seq,
      flags: 0,
      payloadType: PayloadType.Output,
      payload: Buffer.from(text),
      createdDate: 1_700_000_000_000,
    }),
  )
}

function ackFor(seq: number) {
  return {
    AcknowledgedMessageType: 'input_stream_data',
    AcknowledgedMessageId: '00000000-0000-4000-8000-000000000000',
    AcknowledgedMessageSequenceNumber: seq,
    IsSequentialMessage: true,
  }
}

const seqs = (messages: ClientMessage[]): number[] => messages.map((m) => m.sequenceNumber)
const ackedSeq = (frame: Buffer | undefined): number => {
  expect(frame).toBeDefined()
  const m = parseMessage(frame!, 'client')
  expect(m.messageType).toBe('acknowledge')
  expect([m.sequenceNumber, m.flags, m.payloadType]).toEqual([0, 3, 0])
  return parseAcknowledgeContent(m.payload).AcknowledgedMessageSequenceNumber
}

describe('ReliableStream.send (§6.1, §3.3)', () => {
  it('numbers client messages from 0 with Flags 0 and keeps them until acked', () => {
    const clock = fakeClock()
    const stream = clientStream(clock)
    const frames = [
      stream.send(PayloadType.HandshakeResponse, Buffer.from('{}')),
      stream.send(1, Buffer.from('a')),
    ]
    const decoded = frames.map((f) => parseMessage(f, 'agent'))
    expect(decoded.map((m) => [m.messageType, m.sequenceNumber, m.flags, m.payloadType])).toEqual([
      ['input_stream_data', 0, 0, 6],
      ['input_stream_data', 1, 0, 1],
    ])
    expect(decoded[0]!.createdDate).toBe(clock.now())
    expect(decoded[0]!.messageId).toBe('c0000000-0000-4000-8000-000000000000')
    expect(stream.nextSequenceNumber).toBe(2)
    expect(stream.unacknowledged).toBe(2)
  })

  it('marks the agent seq 0 with SYN only, unless flags are given', () => {
    const stream = agentStream()
    const flags = [
      stream.send(5, Buffer.from('{}')),
      stream.send(7, Buffer.from('{}')),
      stream.send(1, Buffer.from('x'), 2),
    ]
    expect(flags.map((f) => decodeMessage(f).flags)).toEqual([1, 0, 2])
  })

  it('never stamps CreatedDate 0, even from a clock at 0', () => {
    const stream = clientStream(fakeClock(0))
    expect(() => parseMessage(stream.send(1, Buffer.from('x')), 'agent')).not.toThrow()
  })
})

describe('ReliableStream.receive (§4 agent table, §6.4)', () => {
  it('acks and delivers in-order messages', () => {
    const stream = clientStream()
    const first = stream.receive(output(0))
    expect(seqs(first.deliver)).toEqual([0])
    expect(ackedSeq(first.ack)).toBe(0)
    const second = stream.receive(output(1))
    expect(seqs(second.deliver)).toEqual([1])
    expect(stream.expectedSequenceNumber).toBe(2)
  })

  it('the ack names the acked message type and id', () => {
    const message = output(0)
    const ack = parseAcknowledgeContent(decodeMessage(clientStream().receive(message).ack!).payload)
    expect(ack).toEqual({
      AcknowledgedMessageType: 'output_stream_data',
      AcknowledgedMessageId: message.messageId,
      AcknowledgedMessageSequenceNumber: 0,
      IsSequentialMessage: true,
    })
  })

  it('acks and buffers out-of-order messages, then delivers them in order once the gap fills', () => {
    const stream = clientStream()
    const r2 = stream.receive(output(2))
    const r1 = stream.receive(output(1))
    expect([r2.deliver, r1.deliver]).toEqual([[], []])
    expect([ackedSeq(r2.ack), ackedSeq(r1.ack)]).toEqual([2, 1])
    expect(stream.bufferedIncoming).toBe(2)
    const r0 = stream.receive(output(0))
    expect(ackedSeq(r0.ack)).toBe(0)
    expect(r0.deliver.map((m) => m.payload.toString())).toEqual(['m0', 'm1', 'm2'])
    expect(stream.expectedSequenceNumber).toBe(3)
    expect(stream.bufferedIncoming).toBe(0)
  })

  it('re-acks duplicates without delivering them again', () => {
    const stream = clientStream()
    stream.receive(output(0))
    const dup = stream.receive(output(0))
    expect(dup.deliver).toEqual([])
    expect(ackedSeq(dup.ack)).toBe(0)
    stream.receive(output(2))
    const dupAhead = stream.receive(output(2))
    expect(dupAhead.deliver).toEqual([])
    expect(ackedSeq(dupAhead.ack)).toBe(2)
    expect(seqs(stream.receive(output(1)).deliver)).toEqual([1, 2])
  })

  it('drops ahead-of-order messages without an ack when the buffer is full (§6.2)', () => {
    const stream = clientStream(fakeClock(), { incomingCapacity: 1 })
    expect(stream.receive(output(1)).ack).toBeDefined()
    const dropped = stream.receive(output(2))
    expect(dropped).toEqual({ deliver: [] })
    expect(seqs(stream.receive(output(0)).deliver)).toEqual([0, 1])
  })

  it('refuses messages of its own direction', () => {
    const agent = agentStream()
    expect(() => agent.receive(output(0))).toThrow('expected input_stream_data')
  })

  it('delivers every message exactly once, in order, whatever the arrival order and duplication', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 30 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
              fc.array(fc.nat(n - 1)),
            ),
          ),
        ([n, order, duplicates]) => {
          const stream = clientStream()
          const delivered: number[] = []
          for (const seq of [...order, ...duplicates]) {
            const result = stream.receive(output(seq))
            expect(result.ack).toBeDefined()
            delivered.push(...seqs(result.deliver))
          }
          expect(delivered).toEqual([...Array(n).keys()])
          expect(stream.bufferedIncoming).toBe(0)
        },
      ),
    )
  })
})

describe('acknowledgements and retransmission (§4, §6.3)', () => {
  it('an ack removes exactly the message with that sequence number; unknown ones are ignored', () => {
    const stream = clientStream()
    for (const text of ['a', 'b', 'c']) stream.send(1, Buffer.from(text))
    expect(stream.onAcknowledge(ackFor(1))).toBe(true)
    expect(stream.unacknowledged).toBe(2)
    expect(stream.onAcknowledge(ackFor(1))).toBe(false)
    expect(stream.onAcknowledge(ackFor(9))).toBe(false)
    expect(stream.unacknowledged).toBe(2)
  })

  it('adapts the RTO TCP-style from each sample', () => {
    const clock = fakeClock()
    const stream = clientStream(clock)
    expect([stream.rto, stream.rtt]).toEqual([200, 100])
    stream.send(1, Buffer.from('a'))
    clock.advance(50)
    stream.onAcknowledge(ackFor(0))
    // RTTVAR = ¾·0 + ¼·|100−50| = 12.5; RTT = ⅞·100 + ⅛·50 = 93.75; RTO = 93.75 + max(10, 50)
    expect(stream.rtt).toBe(93.75)
    expect(stream.rto).toBe(143.75)
    stream.send(1, Buffer.from('b'))
    clock.advance(50)
    stream.onAcknowledge(ackFor(1))
    // RTTVAR = ¾·12.5 + ¼·43.75 = 20.3125; RTT = ⅞·93.75 + ⅛·50 = 88.28125; RTO = RTT + 81.25
    expect(stream.rto).toBe(169.53125)
  })

  it('caps the RTO at 1 s and floors the variance term at the 10 ms granularity', () => {
    const clock = fakeClock()
    const slow = clientStream(clock)
    slow.send(1, Buffer.from('a'))
    clock.advance(5000)
    slow.onAcknowledge(ackFor(0))
    expect(slow.rto).toBe(1000)

    const steady = clientStream(clock)
    for (let seq = 0; seq < 200; seq++) {
      steady.send(1, Buffer.from('x'))
      clock.advance(100)
      steady.onAcknowledge(ackFor(seq))
    }
    expect(steady.rtt).toBe(100)
    expect(steady.rto).toBe(110)
  })

  it('resends only the oldest unacked message, once its RTO has passed, with identical bytes', () => {
    const clock = fakeClock()
    const stream = clientStream(clock)
    const frames = ['a', 'b', 'c'].map((text) => stream.send(1, Buffer.from(text)))
    clock.advance(200)
    expect(stream.dueForResend()).toEqual([]) // not yet: strictly more than RTO
    clock.advance(100)
    expect(stream.dueForResend()).toEqual([frames[0]])
    expect(stream.oldestResendAttempts).toBe(1)
    clock.advance(100)
    expect(stream.dueForResend()).toEqual([]) // the resend restarted its timer
    clock.advance(101)
    expect(stream.dueForResend()).toEqual([frames[0]])
    stream.onAcknowledge(ackFor(0))
    clock.advance(100)
    expect(stream.dueForResend()).toEqual([frames[1]])
    expect(stream.unacknowledged).toBe(2)
  })

  it('has nothing to resend once everything is acked', () => {
    const clock = fakeClock()
    const stream = clientStream(clock)
    stream.send(1, Buffer.from('a'))
    stream.onAcknowledge(ackFor(0))
    clock.advance(10_000)
    expect(stream.dueForResend()).toEqual([])
  })

  it('gives up after maxResendAttempts resends of one message', () => {
    const clock = fakeClock()
    const stream = clientStream(clock, { maxResendAttempts: 2 })
    stream.send(1, Buffer.from('a'))
    for (let i = 0; i < 2; i++) {
      clock.advance(1001)
      expect(stream.dueForResend()).toHaveLength(1)
    }
    clock.advance(1001)
    expect(() => stream.dueForResend()).toThrow(ResendLimitError)
  })

  it('client and agent streams talk to each other through frames only', () => {
    const clock = fakeClock()
    const client = clientStream(clock)
    const agent = agentStream(clock)
    const request = parseMessage(agent.send(PayloadType.HandshakeRequest, Buffer.from('{}')), 'client')
    const clientSide = client.receive(request)
    expect(seqs(clientSide.deliver)).toEqual([0])
    agent.onAcknowledge(parseAcknowledgeContent(parseMessage(clientSide.ack!, 'agent').payload))
    const data = parseMessage(client.send(PayloadType.Output, Buffer.from('hi')), 'agent')
    const agentSide = agent.receive(data)
    expect(agentSide.deliver[0]!.payload.toString()).toBe('hi')
    client.onAcknowledge(parseAcknowledgeContent(parseMessage(agentSide.ack!, 'client').payload))
    expect([client.unacknowledged, agent.unacknowledged]).toEqual([0, 0])
  })
})

describe('chunk (§9)', () => {
  it('splits into ≤1024-byte pieces that concatenate back', () => {
    const data = Buffer.alloc(2500, 7)
    const pieces = chunk(data)
    expect(pieces.map((p) => p.length)).toEqual([1024, 1024, 452])
    expect(Buffer.concat(pieces).equals(data)).toBe(true)
    expect(chunk(Buffer.alloc(1024)).length).toBe(1)
    expect(chunk(Buffer.alloc(0))).toEqual([])
    expect(chunk(Buffer.from('abcde'), 2).map((p) => Buffer.from(p).toString())).toEqual(['ab', 'cd', 'e'])
  })

  it('rejects a non-positive size', () => {
    expect(() => chunk(Buffer.from('a'), 0)).toThrow(RangeError)
  })
})

describe('ReliableStream client recovery helpers', () => {
  it('someDueForResend resends overdue messages once per RTO, oldest first; resendAll everything at once', () => {
    let t = 1_700_000_000_000
    const s = new ReliableStream({ now: () => t, outgoingType: 'input_stream_data' })
    const a = s.send(1, Buffer.from('a'))
    t += 50
    const b = s.send(1, Buffer.from('b'))
    t += 160 // a is 210 ms old (> 200 ms RTO), b 160 ms
    expect(s.someDueForResend(8)).toEqual([a])
    t += 60 // b is 220 ms old now, a was just resent
    expect(s.someDueForResend(8)).toEqual([b])
    expect(s.resendAll()).toEqual([a, b])
    expect(s.someDueForResend(8)).toEqual([])
  })
})

describe('the client resends the oldest overdue frames, a few a tick, not every overdue frame (up to 512 duplicates a second when acks stall)', () => {
  it('with 512 frames overdue, one tick resends the 8 oldest', () => {
    let t = 1_700_000_000_000
    const s = new ReliableStream({ now: () => t, outgoingType: 'input_stream_data' })
    const frames = Array.from({ length: 512 }, (_, i) => s.send(1, Buffer.from([i & 255])))
    t += 10_000
    expect(s.someDueForResend(8)).toEqual(frames.slice(0, 8))
    expect(s.someDueForResend(8)).toEqual(frames.slice(8, 16))
  })
})

describe('ReliableStream frameSlots (a ring of frame buffers)', () => {
  const payloadOf = (seq: number) => Buffer.alloc(1024, seq % 251)

  it('reuses a slot only once its last message is acknowledged; a full ring falls back to fresh buffers', () => {
    const s = clientStream(fakeClock(), { frameSlots: 4 })
    const frames = [0, 1, 2, 3].map((seq) => s.send(PayloadType.Output, payloadOf(seq)))
    const copies = frames.map((f) => Buffer.from(f))
    // ring full (0–3 unacked): seq 4 gets a buffer of its own and 0 keeps its bytes
    const fourth = s.send(PayloadType.Output, payloadOf(4))
    expect(fourth.buffer).not.toBe(frames[0]?.buffer)
    expect(frames[0]?.equals(copies[0] as Buffer)).toBe(true)
    // 1 acked: seq 5 takes its slot (5 % 4 = 1)
    s.onAcknowledge(ackFor(1))
    const fifth = s.send(PayloadType.Output, payloadOf(5))
    expect(fifth.buffer).toBe(frames[1]?.buffer)
    expect(fifth.byteOffset).toBe(frames[1]?.byteOffset)
    expect(decodeMessage(fifth)).toMatchObject({ sequenceNumber: 5, payload: payloadOf(5) })
    for (const seq of [0, 2, 3]) expect(frames[seq]?.equals(copies[seq] as Buffer)).toBe(true)
  })

  it('does not reuse a slot whose frame is still unacknowledged when the message a ring ago had its own buffer', () => {
    // Seen against the real agent (no window): with more unacked messages than slots, seq 4 had a
    // buffer of its own (slot 0 busy with seq 0); once 4 was acked, seq 8 overwrote seq 0's frame.
    const s = clientStream(fakeClock(), { frameSlots: 4 })
    const first = s.send(PayloadType.Output, Buffer.alloc(72, 1))
    const copy = Buffer.from(first)
    for (const seq of [1, 2, 3]) s.send(PayloadType.Output, payloadOf(seq))
    s.send(PayloadType.Output, payloadOf(4))
    s.onAcknowledge(ackFor(4))
    for (const seq of [5, 6, 7, 8]) s.send(PayloadType.Output, payloadOf(seq))
    expect(first.equals(copy)).toBe(true)
    expect(s.resendAll()[0]?.equals(copy)).toBe(true)
  })

  it('every unacknowledged frame still decodes to what was sent, whatever the order of acks', () => {
    fc.assert(
      fc.property(
        // sends outnumber acks 2:1, so the ring overflows and slots are taken out of turn
        fc.array(fc.tuple(fc.nat(2), fc.nat(40), fc.integer({ min: 0, max: 1100 })), { maxLength: 200 }),
        (steps) => {
          const s = clientStream(fakeClock(), { frameSlots: 8 })
          const sent = new Map<number, { frame: Buffer; copy: Buffer }>()
          let next = 0
          for (const [kind, pick, size] of steps) {
            if (kind === 0 && sent.size > 0) {
              const seq = [...sent.keys()][pick % sent.size] as number
              s.onAcknowledge(ackFor(seq))
              sent.delete(seq)
            } else {
              const frame = s.send(PayloadType.Output, Buffer.alloc(size, next % 251))
              sent.set(next++, { frame, copy: Buffer.from(frame) })
            }
            for (const { frame, copy } of sent.values()) if (!frame.equals(copy)) return false
          }
          return s.resendAll().every((f, i) => f.equals([...sent.values()][i]?.copy as Buffer))
        },
      ),
    )
  })
})
