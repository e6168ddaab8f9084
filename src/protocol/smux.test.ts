import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from './message.ts'
import {
  encodeSmuxFrame,
  SMUX_HEADER_SIZE,
  SMUX_MAX_FRAME_DATA,
  SMUX_VERSION,
  SmuxCommand,
  SmuxDecoder,
  type SmuxEvent,
  type SmuxFrame,
  SmuxSession,
} from './smux.ts'

// Byte vectors are written by hand from xtaci/smux frame.go: ver u8 | cmd u8 | len u16 LE | sid u32 LE.
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

const SYN_1 = hex('01 00 0000 01000000')
const PSH_HI_3 = hex('01 02 0200 03000000 6869')
const NOP = hex('01 03 0000 00000000')
const FIN_5 = hex('01 01 0000 05000000')

/** Plain objects, so toEqual compares bytes and not Buffer identity. */
const plain = (frames: SmuxFrame[]) => frames.map((f) => ({ ...f, data: [...f.data] }))

function decodeAll(bytes: Uint8Array): SmuxFrame[] {
  const decoder = new SmuxDecoder()
  const frames = decoder.push(bytes)
  expect(decoder.pendingBytes).toBe(0)
  return frames
}

/** Deterministic PRNG (mulberry32) for schedules drawn from one fast-check seed. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) % n) as number
  }
}

const frameArb: fc.Arbitrary<SmuxFrame> = fc.oneof(
  fc.record({
    cmd: fc.constant(SmuxCommand.Psh),
    streamId: fc.integer({ min: 0, max: 0xffff_ffff }),
    data: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  }),
  fc.record({
    cmd: fc.constantFrom(SmuxCommand.Syn, SmuxCommand.Fin, SmuxCommand.Nop),
    streamId: fc.integer({ min: 0, max: 0xffff_ffff }),
    data: fc.constant(Buffer.alloc(0)),
  }),
)

describe('encodeSmuxFrame', () => {
  it('writes the hand-made vectors', () => {
    expect(SMUX_VERSION).toBe(1)
    expect(SMUX_HEADER_SIZE).toBe(8)
    expect(SMUX_MAX_FRAME_DATA).toBe(32768)
    expect(encodeSmuxFrame({ cmd: SmuxCommand.Syn, streamId: 1 })).toEqual(SYN_1)
    expect(encodeSmuxFrame({ cmd: SmuxCommand.Psh, streamId: 3, data: Buffer.from('hi') })).toEqual(PSH_HI_3)
    expect(encodeSmuxFrame({ cmd: SmuxCommand.Nop, streamId: 0 })).toEqual(NOP)
    expect(encodeSmuxFrame({ cmd: SmuxCommand.Fin, streamId: 5 })).toEqual(FIN_5)
  })

  it('writes length and stream id little-endian', () => {
    const data = Buffer.alloc(0x0102, 0xaa)
    const frame = encodeSmuxFrame({ cmd: SmuxCommand.Psh, streamId: 0x04030201, data })
    expect(frame.subarray(0, 8)).toEqual(hex('01 02 0201 01020304'))
    expect(frame.length).toBe(8 + 0x0102)
    const max = encodeSmuxFrame({ cmd: SmuxCommand.Psh, streamId: 0xffff_ffff, data: Buffer.alloc(0xffff) })
    expect(max.subarray(0, 8)).toEqual(hex('01 02 ffff ffffffff'))
  })

  it('refuses what no v1 peer accepts', () => {
    const bad = [
      { cmd: 4 as SmuxCommand, streamId: 1 },
      { cmd: -1 as SmuxCommand, streamId: 1 },
      { cmd: SmuxCommand.Psh, streamId: -1 },
      { cmd: SmuxCommand.Psh, streamId: 2 ** 32 },
      { cmd: SmuxCommand.Psh, streamId: 1.5 },
      { cmd: SmuxCommand.Psh, streamId: 1, data: Buffer.alloc(0x10000) },
      { cmd: SmuxCommand.Syn, streamId: 1, data: Buffer.from('x') },
      { cmd: SmuxCommand.Fin, streamId: 1, data: Buffer.from('x') },
      { cmd: SmuxCommand.Nop, streamId: 0, data: Buffer.from('x') },
    ]
    for (const frame of bad) expect(() => encodeSmuxFrame(frame)).toThrow(ProtocolError)
  })
})

describe('SmuxDecoder', () => {
  it('reads the hand-made vectors, several per chunk', () => {
    const frames = decodeAll(Buffer.concat([SYN_1, PSH_HI_3, NOP, FIN_5]))
    expect(plain(frames)).toEqual([
      { cmd: SmuxCommand.Syn, streamId: 1, data: [] },
      { cmd: SmuxCommand.Psh, streamId: 3, data: [0x68, 0x69] },
      { cmd: SmuxCommand.Nop, streamId: 0, data: [] },
      { cmd: SmuxCommand.Fin, streamId: 5, data: [] },
    ])
    expect(plain(decodeAll(hex('01 02 0000 07000000')))).toEqual([
      { cmd: SmuxCommand.Psh, streamId: 7, data: [] },
    ])
    const big = decodeAll(Buffer.concat([hex('01 02 ffff 04030201'), Buffer.alloc(0xffff, 7)]))
    expect(big).toHaveLength(1)
    expect(big[0]?.streamId).toBe(0x01020304)
    expect(big[0]?.data.equals(Buffer.alloc(0xffff, 7))).toBe(true)
  })

  it('holds back a partial frame until the rest arrives, one byte at a time', () => {
    const bytes = Buffer.concat([PSH_HI_3, SYN_1])
    const decoder = new SmuxDecoder()
    const got: SmuxFrame[] = []
    bytes.forEach((byte, i) => {
      got.push(...decoder.push(Uint8Array.of(byte)))
      expect(decoder.pendingBytes).toBe(i < PSH_HI_3.length ? (i + 1) % PSH_HI_3.length : (i - 9) % 8)
    })
    expect(plain(got)).toEqual(plain(decodeAll(bytes)))
    expect(decoder.push(new Uint8Array(0))).toEqual([])
  })

  it('copies frame data out of the input', () => {
    const input = Buffer.concat([Buffer.from('junk'), PSH_HI_3, hex('01 02 0300 09000000 6162')])
    const decoder = new SmuxDecoder()
    const [first] = decoder.push(input.subarray(4, input.length))
    const [second] = decoder.push(hex('63'))
    input.fill(0)
    expect(first?.data.toString()).toBe('hi')
    expect(second?.data.toString()).toBe('abc')
  })

  it('decodes any frames, cut at every byte boundary, as the frames encoded', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), (frames) => {
        const bytes = Buffer.concat(frames.map(encodeSmuxFrame))
        const expected = plain(frames)
        expect(plain(decodeAll(bytes))).toEqual(expected)
        for (let cut = 0; cut <= bytes.length; cut++) {
          const decoder = new SmuxDecoder()
          const got = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))]
          expect(plain(got)).toEqual(expected)
          expect(decoder.pendingBytes).toBe(0)
        }
      }),
    )
  })

  it('decodes any frames cut at random points as the frames encoded', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (frames, cutSeeds) => {
          const bytes = Buffer.concat(frames.map(encodeSmuxFrame))
          const cuts = [...new Set(cutSeeds.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
          const decoder = new SmuxDecoder()
          const got: SmuxFrame[] = []
          let from = 0
          for (const cut of [...cuts, bytes.length]) {
            got.push(...decoder.push(bytes.subarray(from, cut)))
            from = cut
          }
          expect(plain(got)).toEqual(plain(frames))
          expect(decoder.pendingBytes).toBe(0)
        },
      ),
    )
  })

  it.each([
    ['version 0', '00 00 0000 01000000', /unsupported version 0/],
    ['version 2', '02 00 0000 01000000', /unsupported version 2/],
    ['UPD (cmd 4, v2 only)', '01 04 0800 01000000 0000000000000000', /unknown cmd 4/],
    ['cmd 255', '01 ff 0000 01000000', /unknown cmd 255/],
    ['data on SYN', '01 00 0100 01000000 41', /cmd 0 carries 1 bytes/],
    ['data on FIN', '01 01 0200 01000000 4142', /cmd 1 carries 2 bytes/],
    ['data on NOP', '01 03 0100 00000000 41', /cmd 3 carries 1 bytes/],
  ])('rejects %s and stays failed', (_name, bytes, message) => {
    const decoder = new SmuxDecoder()
    expect(decoder.push(SYN_1)).toHaveLength(1)
    expect(() => decoder.push(hex(bytes))).toThrow(message)
    expect(() => decoder.push(NOP)).toThrow(ProtocolError)
    expect(() => decoder.push(NOP)).toThrow(message)
  })

  it('fails at the first bad byte, without waiting for the rest of the header', () => {
    expect(() => new SmuxDecoder().push(hex('02'))).toThrow(/version 2/)
    const decoder = new SmuxDecoder()
    expect(decoder.push(hex('01'))).toEqual([])
    expect(() => decoder.push(hex('05'))).toThrow(/unknown cmd 5/)
  })
})

describe('SmuxSession, one side', () => {
  it('allocates stream ids as xtaci does: client 3, 5, 7…, server 2, 4…', () => {
    const client = new SmuxSession('client')
    expect([client.openStream(), client.openStream(), client.openStream()]).toEqual([3, 5, 7])
    expect(client.takeOutput()).toEqual(hex('01 00 0000 03000000  01 00 0000 05000000  01 00 0000 07000000'))
    expect(client.streams).toEqual([3, 5, 7])
    const server = new SmuxSession('server')
    expect([server.openStream(), server.openStream()]).toEqual([2, 4])
  })

  it('skips an id the peer already opened', () => {
    const client = new SmuxSession('client')
    client.receive(hex('01 00 0000 03000000'))
    expect(client.openStream()).toBe(5)
  })

  it('queues PSH, FIN once and NOP, and takeOutput empties the queue', () => {
    const client = new SmuxSession('client')
    expect(client.takeOutput()).toEqual(Buffer.alloc(0))
    const id = client.openStream()
    client.write(id, Buffer.from('hi'))
    client.write(id, new Uint8Array(0))
    client.keepalive()
    expect(client.outputLength).toBe(8 + 10 + 8)
    expect(client.close(id)).toBe(false)
    expect(client.close(id)).toBe(false)
    expect(client.takeOutput()).toEqual(
      hex('01 00 0000 03000000  01 02 0200 03000000 6869  01 03 0000 00000000  01 01 0000 03000000'),
    )
    expect(client.takeOutput()).toEqual(Buffer.alloc(0))
    expect(client.outputLength).toBe(0)
    expect(client.streamState(id)).toEqual({ localFin: true, remoteFin: false })
  })

  it('copies written data', () => {
    const client = new SmuxSession('client')
    const id = client.openStream()
    const data = Buffer.from('hi')
    client.write(id, data)
    data.fill(0)
    expect(client.takeOutput().subarray(-2).toString()).toBe('hi')
  })

  it('splits a large write into frames of at most 32768 bytes', () => {
    const client = new SmuxSession('client')
    const id = client.openStream()
    client.takeOutput()
    const data = Buffer.from(Array.from({ length: 2 * 32768 + 1 }, (_, i) => (i * 7) & 0xff))
    client.write(id, data)
    const out = client.takeOutput()
    expect(out.length).toBe(data.length + 3 * 8)
    expect(out.subarray(0, 8)).toEqual(hex('01 02 0080 03000000'))
    const frames = decodeAll(out)
    expect(frames.map((f) => [f.cmd, f.streamId, f.data.length])).toEqual([
      [SmuxCommand.Psh, id, 32768],
      [SmuxCommand.Psh, id, 32768],
      [SmuxCommand.Psh, id, 1],
    ])
    expect(Buffer.concat(frames.map((f) => f.data)).equals(data)).toBe(true)
    const exact = new SmuxSession('client')
    exact.write(exact.openStream(), Buffer.alloc(32768))
    expect(decodeAll(exact.takeOutput()).map((f) => f.data.length)).toEqual([0, 32768])
  })

  it('honours a smaller maxFrameData and rejects an impossible one', () => {
    const client = new SmuxSession('client', { maxFrameData: 1000 })
    client.write(client.openStream(), Buffer.alloc(2500))
    expect(decodeAll(client.takeOutput()).map((f) => f.data.length)).toEqual([0, 1000, 1000, 500])
    expect(() => new SmuxSession('client', { maxFrameData: 0 })).toThrow(RangeError)
    expect(() => new SmuxSession('client', { maxFrameData: 65536 })).toThrow(RangeError)
  })

  it('refuses writes to unknown or locally closed streams', () => {
    const client = new SmuxSession('client')
    expect(() => client.write(3, Buffer.from('x'))).toThrow(/not open/)
    const id = client.openStream()
    client.close(id)
    expect(() => client.write(id, Buffer.from('x'))).toThrow(/after its FIN/)
    expect(client.close(99)).toBe(false)
  })

  it('turns peer frames into events (server side)', () => {
    const server = new SmuxSession('server')
    const events = server.receive(
      Buffer.concat([
        hex('01 00 0000 03000000'),
        hex('01 02 0200 03000000 6869'),
        hex('01 02 0000 03000000'),
        NOP,
        hex('01 01 0000 03000000'),
      ]),
    )
    expect(events).toEqual([
      { type: 'open', streamId: 3 },
      { type: 'data', streamId: 3, data: Buffer.from('hi') },
      { type: 'nop', streamId: 0 },
      { type: 'fin', streamId: 3 },
    ])
    expect(server.streamState(3)).toEqual({ localFin: false, remoteFin: true })
    // half-closed: we can still write, and our FIN closes it for good
    server.write(3, Buffer.from('late'))
    expect(server.close(3)).toBe(true)
    expect(server.streams).toEqual([])
    expect(server.streamState(3)).toBeUndefined()
    expect(server.takeOutput()).toEqual(hex('01 02 0400 03000000 6c617465  01 01 0000 03000000'))
  })

  it('reports closed right after the peer FIN that completes a close', () => {
    const client = new SmuxSession('client')
    const id = client.openStream()
    client.close(id)
    expect(client.receive(hex('01 02 0100 03000000 41'))).toEqual([
      { type: 'data', streamId: id, data: Buffer.from('A') },
    ])
    expect(client.receive(hex('01 01 0000 03000000'))).toEqual([
      { type: 'fin', streamId: id },
      { type: 'closed', streamId: id },
    ])
    expect(client.streams).toEqual([])
  })

  it('ignores PSH/FIN for unknown streams, a SYN for a known one, data after FIN, a second FIN', () => {
    const server = new SmuxSession('server')
    expect(server.receive(hex('01 02 0100 09000000 41  01 01 0000 09000000'))).toEqual([])
    expect(server.receive(hex('01 00 0000 03000000  01 00 0000 03000000'))).toEqual([
      { type: 'open', streamId: 3 },
    ])
    expect(server.receive(hex('01 01 0000 03000000  01 02 0100 03000000 41  01 01 0000 03000000'))).toEqual([
      { type: 'fin', streamId: 3 },
    ])
    expect(server.streams).toEqual([3])
  })

  it('a forgotten stream can be opened again by a new SYN', () => {
    const server = new SmuxSession('server')
    server.receive(hex('01 00 0000 03000000  01 01 0000 03000000'))
    expect(server.close(3)).toBe(true)
    expect(server.receive(hex('01 02 0100 03000000 41'))).toEqual([])
    expect(server.receive(hex('01 00 0000 03000000'))).toEqual([{ type: 'open', streamId: 3 }])
  })

  it('throws ProtocolError on a bad frame and keeps throwing', () => {
    const server = new SmuxSession('server')
    expect(() => server.receive(hex('01 04 0800 03000000'))).toThrow(ProtocolError)
    expect(() => server.receive(NOP)).toThrow(/unknown cmd 4/)
  })
})

describe('SmuxSession, client and server wired together', () => {
  interface Plan {
    up: Uint8Array[]
    down: Uint8Array[]
  }
  interface Log {
    events: string[]
    data: Buffer[]
    closed: number
  }
  const sha = (parts: Uint8Array[]) => createHash('sha256').update(Buffer.concat(parts)).digest('hex')

  /**
   * Client streams write `up` then FIN; the server, once it sees a stream open, writes `down` then FIN.
   * Each step is one write/open/close or a delivery of a random cut (1–1500 bytes, mostly ≤ 1024) of
   * what one side has sent so far.
   */
  function run(plans: Plan[], seed: number) {
    const rand = prng(seed)
    const client = new SmuxSession('client')
    const server = new SmuxSession('server')
    const toServer: Buffer[] = []
    const toClient: Buffer[] = []
    const clientLog = new Map<number, Log>()
    const serverLog = new Map<number, Log>()
    const newLog = (): Log => ({ events: [], data: [], closed: 0 })
    const ids: number[] = []
    /** per stream index: client's next action (0 open, 1..up writes, then close), server's next action */
    const clientStep = plans.map(() => 0)
    const serverStep = new Map<number, number>()
    const planOf = (id: number) => plans[ids.indexOf(id)] as Plan

    const record = (log: Map<number, Log>, events: SmuxEvent[]) => {
      for (const e of events) {
        if (e.type === 'nop') continue
        const entry = log.get(e.streamId) ?? newLog()
        log.set(e.streamId, entry)
        entry.events.push(e.type)
        if (e.type === 'data') entry.data.push(e.data)
        if (e.type === 'closed') entry.closed++
        if (e.type === 'open') serverStep.set(e.streamId, 0)
      }
    }
    const deliver = (wire: Buffer[], to: SmuxSession, log: Map<number, Log>) => {
      const bytes = Buffer.concat(wire)
      const size = 1 + (rand(10) === 0 ? rand(1500) : rand(1024))
      const cut = Math.min(size, bytes.length)
      wire.length = 0
      if (cut < bytes.length) wire.push(bytes.subarray(cut))
      record(log, to.receive(bytes.subarray(0, cut)))
    }
    const localClose = (side: SmuxSession, log: Map<number, Log>, id: number) => {
      if (side.close(id)) {
        const entry = log.get(id) ?? newLog()
        log.set(id, entry)
        entry.closed++
      }
    }

    const clientActions = () =>
      plans.flatMap((plan, i) => ((clientStep[i] as number) <= plan.up.length + 1 ? [i] : []))
    const serverActions = () =>
      [...serverStep].flatMap(([id, step]) => (step <= planOf(id).down.length ? [id] : []))

    for (;;) {
      const ca = clientActions()
      const sa = serverActions()
      const pending = toServer.length + toClient.length + client.outputLength + server.outputLength
      if (ca.length + sa.length + pending === 0) break
      const pick = rand(5)
      if (pick === 0 && ca.length > 0) {
        const i = ca[rand(ca.length)] as number
        const step = clientStep[i] as number
        const plan = plans[i] as Plan
        if (step === 0) ids[i] = client.openStream()
        else if (step <= plan.up.length) client.write(ids[i] as number, plan.up[step - 1] as Uint8Array)
        else localClose(client, clientLog, ids[i] as number)
        clientStep[i] = step + 1
      } else if (pick === 1 && sa.length > 0) {
        const id = sa[rand(sa.length)] as number
        const step = serverStep.get(id) as number
        const down = planOf(id).down
        if (step < down.length) server.write(id, down[step] as Uint8Array)
        else localClose(server, serverLog, id)
        serverStep.set(id, step + 1)
      } else if (pick === 2) {
        client.keepalive()
      } else {
        const out = [client.takeOutput(), server.takeOutput()]
        if (out[0]?.length) toServer.push(out[0])
        if (out[1]?.length) toClient.push(out[1])
        if (toServer.length > 0 && (toClient.length === 0 || rand(2) === 0))
          deliver(toServer, server, serverLog)
        else if (toClient.length > 0) deliver(toClient, client, clientLog)
      }
    }
    return { client, server, ids, clientLog, serverLog }
  }

  /** data* fin (closed when we had closed before it), with 'open' first on the server. */
  const wellOrdered = (events: string[], open: boolean) => {
    const rest = open ? events.slice(1) : events
    if (open) expect(events[0]).toBe('open')
    const firstNonData = rest.findIndex((e) => e !== 'data')
    expect(rest.slice(firstNonData)).toEqual(rest.at(-1) === 'closed' ? ['fin', 'closed'] : ['fin'])
  }

  it('carries several streams both ways with every byte in order, then closes them all', () => {
    const chunks = fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), { maxLength: 5 })
    fc.assert(
      fc.property(
        fc.array(fc.record({ up: chunks, down: chunks }), { minLength: 1, maxLength: 4 }),
        fc.integer(),
        (plans, seed) => {
          const { client, server, ids, clientLog, serverLog } = run(plans, seed)
          expect([...ids].sort((a, b) => a - b)).toEqual(plans.map((_, i) => 3 + 2 * i))
          plans.forEach((plan, i) => {
            const id = ids[i] as number
            const atServer = serverLog.get(id) as Log
            const atClient = clientLog.get(id) as Log
            expect(sha(atServer.data)).toBe(sha(plan.up))
            expect(Buffer.concat(atServer.data).equals(Buffer.concat(plan.up))).toBe(true)
            expect(Buffer.concat(atClient.data).equals(Buffer.concat(plan.down))).toBe(true)
            wellOrdered(atServer.events, true)
            wellOrdered(atClient.events, false)
            // each side learns exactly once that the stream is gone: from close() or from 'closed'
            expect([atServer.closed, atClient.closed]).toEqual([1, 1])
          })
          expect(client.streams).toEqual([])
          expect(server.streams).toEqual([])
        },
      ),
      { numRuns: 60 },
    )
  })

  it('moves a large write across 1024-byte payloads intact', () => {
    const client = new SmuxSession('client')
    const server = new SmuxSession('server')
    const data = createHash('sha512').update('seed').digest()
    const big = Buffer.concat(Array.from({ length: 2000 }, () => data)) // 128000 bytes
    const id = client.openStream()
    client.write(id, big)
    client.close(id)
    const wire = client.takeOutput()
    const events: SmuxEvent[] = []
    for (let at = 0; at < wire.length; at += 1024)
      events.push(...server.receive(wire.subarray(at, at + 1024)))
    expect(events[0]).toEqual({ type: 'open', streamId: id })
    expect(events.at(-1)).toEqual({ type: 'fin', streamId: id })
    const received = events.flatMap((e) => (e.type === 'data' ? [e.data] : []))
    expect(received.map((d) => d.length)).toEqual([32768, 32768, 32768, 128000 - 3 * 32768])
    expect(Buffer.concat(received).equals(big)).toBe(true)
  })
})
