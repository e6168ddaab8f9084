// The client session against a scripted agent on a fake socket, driven by a fake clock (no sleeps).
import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FlagCode, MessageType, PayloadType } from '../protocol/constants.ts'
import { type ClientMessage, decodeMessage, encodeMessage } from '../protocol/message.ts'
import {
  encodeAcknowledge,
  encodeChannelClosed,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
  parseFlag,
  parseHandshakeResponse,
  parseOpenDataChannelInput,
} from '../protocol/payloads.ts'
import { ReliableStream } from '../protocol/stream.ts'
import { SessionError, SessionGoneError } from '../support/errors.ts'
import { silentLog } from '../support/log.ts'
import { DataChannelSession } from './data-channel-session.ts'
import type { WebSocketLike } from './websocket.ts'

class FakeSocket extends EventEmitter {
  sent: Array<string | Buffer> = []
  closed = false
  send(data: string | Buffer) {
    // like ws, which masks every client frame into a copy of its own
    this.sent.push(typeof data === 'string' ? data : Buffer.from(data))
  }
  close() {
    this.closed = true
  }
  terminate() {
    this.drop()
  }
  paused = false
  ping() {
    if (!this.paused) this.emit('pong')
  }
  pause() {
    this.paused = true
  }
  resume() {
    this.paused = false
  }
  /** the network cut the socket */
  drop(code = 1006, reason = '') {
    this.emit('close', code, Buffer.from(reason))
  }
  frames(): ClientMessage[] {
    return this.sent.filter((d): d is Buffer => Buffer.isBuffer(d)).map((b) => decodeMessage(b))
  }
}

/** A scripted agent: its own ReliableStream, so numbering and acks are the real protocol's. */
function makeAgent() {
  const stream = new ReliableStream({ now: () => Date.now(), outgoingType: MessageType.OutputStreamData })
  return {
    stream,
    handshake: () =>
      stream.send(
        PayloadType.HandshakeRequest,
        encodeHandshakeRequest({
          AgentVersion: '3.3.0.0',
          RequestedClientActions: [
            {
              ActionType: 'SessionType',
              ActionParameters: { SessionType: 'Port', Properties: { portNumber: '22' } },
            },
          ],
        }),
      ),
    complete: () =>
      stream.send(
        PayloadType.HandshakeComplete,
        encodeHandshakeComplete({ HandshakeTimeToComplete: 1, CustomerMessage: '' }),
      ),
    output: (text: string) => stream.send(PayloadType.Output, Buffer.from(text)),
    ack: (m: ClientMessage) => encodeAcknowledge(m, Date.now()),
  }
}

describe('DataChannelSession', () => {
  let sockets: FakeSocket[]
  let resumes: number
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 })
    sockets = []
    resumes = 0
  })
  afterEach(() => vi.useRealTimers())

  const newSession = (
    handshakeTimeoutMs = 15_000,
    resume: () => Promise<{ streamUrl: string; tokenValue: string }> = async () => ({
      streamUrl: 'ws://127.0.0.1/v1/data-channel/s-1',
      tokenValue: `T${2 + resumes++}`,
    }),
  ) =>
    new DataChannelSession({
      streamUrl: 'ws://127.0.0.1/v1/data-channel/s-1?role=publish_subscribe',
      tokenValue: 'T1',
      sessionId: 's-1',
      clientVersion: '1.2.764.0',
      log: silentLog,
      handshakeTimeoutMs,
      resume,
      connect: async () => {
        const s = new FakeSocket()
        sockets.push(s)
        return s as unknown as WebSocketLike
      },
    })

  async function openedSession(resume?: Parameters<typeof newSession>[1]) {
    const session = newSession(15_000, resume)
    const agent = makeAgent()
    const opening = session.open()
    await vi.advanceTimersByTimeAsync(0)
    const ws = sockets[0]!
    ws.emit('message', agent.handshake(), true)
    const response = ws.frames().find((f) => f.payloadType === PayloadType.HandshakeResponse)!
    ws.emit('message', agent.ack(response), true)
    ws.emit('message', agent.complete(), true)
    await opening
    return { session, agent, ws }
  }

  it('sends the open frame, answers the handshake as its seq 0, then data from seq 1', async () => {
    const { session, ws } = await openedSession()
    const open = parseOpenDataChannelInput(ws.sent[0] as string)
    expect(open).toMatchObject({ MessageSchemaVersion: '1.0', TokenValue: 'T1', ClientVersion: '1.2.764.0' })
    const frames = ws.frames()
    const response = frames.find((f) => f.payloadType === PayloadType.HandshakeResponse)!
    expect(response.sequenceNumber).toBe(0)
    expect(parseHandshakeResponse(response.payload).ProcessedClientActions).toEqual([
      { ActionType: 'SessionType', ActionStatus: 1, ActionResult: null, Error: '' },
    ])
    expect(
      frames.filter((f) => f.messageType === MessageType.Acknowledge).map((f) => f.payload.toString()),
    ).toHaveLength(2)
    session.write(Buffer.from('SSH-2.0-test\r\n'))
    const data = ws.frames().find((f) => f.payloadType === PayloadType.Output)!
    expect(data).toMatchObject({ messageType: 'input_stream_data', sequenceNumber: 1 })
    session.destroy()
  })

  it('keeps output that arrives with HandshakeComplete, before anyone listens', async () => {
    const session = newSession()
    const agent = makeAgent()
    const opening = session.open()
    await vi.advanceTimersByTimeAsync(0)
    const ws = sockets[0]!
    // one TCP read: handshake, completion and the server's banner in the same tick
    ws.emit('message', agent.handshake(), true)
    ws.emit('message', agent.complete(), true)
    ws.emit('message', agent.output('SSH-2.0-x\r\n'), true)
    await opening
    const got: string[] = []
    session.on('data', (b) => got.push(b.toString()))
    ws.emit('message', agent.output('KEXINIT'), true)
    await Promise.resolve()
    expect(got.join('')).toBe('SSH-2.0-x\r\nKEXINIT')
    session.destroy()
  })

  it('delivers reordered and duplicated output once, in order', async () => {
    const { session, agent, ws } = await openedSession()
    const got: string[] = []
    session.on('data', (b) => got.push(b.toString()))
    const a = agent.output('a')
    const b = agent.output('b')
    const c = agent.output('c')
    for (const frame of [c, a, a, b, c]) ws.emit('message', frame, true)
    await Promise.resolve()
    expect(got.join('')).toBe('abc')
    session.destroy()
  })

  it('resends an unacknowledged message after the RTO and stops once acked', async () => {
    const { session, agent, ws } = await openedSession()
    session.write(Buffer.from('x'))
    const count = () => ws.frames().filter((f) => f.payloadType === PayloadType.Output).length
    expect(count()).toBe(1)
    await vi.advanceTimersByTimeAsync(150)
    expect(count()).toBe(1)
    await vi.advanceTimersByTimeAsync(200)
    expect(count()).toBe(2)
    const sent = ws.frames().find((f) => f.payloadType === PayloadType.Output)!
    ws.emit('message', agent.ack(sent), true)
    await vi.advanceTimersByTimeAsync(3000)
    expect(count()).toBe(2)
    session.destroy()
  })

  it('after a dropped socket: ResumeSession, the new token, unacked data again with the same numbers', async () => {
    const { session, agent, ws } = await openedSession()
    session.write(Buffer.from('one'))
    session.write(Buffer.from('two'))
    const first = ws.frames().filter((f) => f.payloadType === PayloadType.Output)
    ws.emit('message', agent.ack(first[0]!), true)
    ws.drop()
    await vi.advanceTimersByTimeAsync(10)
    expect(sockets).toHaveLength(2)
    const ws2 = sockets[1]!
    expect(parseOpenDataChannelInput(ws2.sent[0] as string).TokenValue).toBe('T2')
    const again = ws2.frames().filter((f) => f.payloadType === PayloadType.Output)
    expect(again.map((f) => [f.sequenceNumber, f.payload.toString()])).toEqual([[2, 'two']])
    expect(again[0]!.messageId).toBe(first[1]!.messageId)
    session.write(Buffer.from('three'))
    expect(ws2.frames().at(-1)).toMatchObject({ sequenceNumber: 3 })
    session.destroy()
  })

  it('holdReading pauses the socket (no dead-peer verdict meanwhile), also a resumed one', async () => {
    const { session, ws } = await openedSession()
    session.holdReading()
    expect(ws.paused).toBe(true)
    // a held socket is not read, so no pong comes: that must not count as a dead peer
    await vi.advanceTimersByTimeAsync(35_000)
    expect(sockets).toHaveLength(1)
    session.resumeReading()
    expect(ws.paused).toBe(false)
    session.holdReading()
    ws.drop()
    await vi.advanceTimersByTimeAsync(10)
    expect(sockets[1]?.paused).toBe(true)
    session.resumeReading()
    expect(sockets[1]?.paused).toBe(false)
    session.destroy()
  })

  it('ends on channel_closed with the service’s words', async () => {
    const { session, ws } = await openedSession()
    const closed = new Promise<string | undefined>((r) => session.once('close', r))
    ws.emit(
      'message',
      encodeChannelClosed({
        sessionId: 's-1',
        destinationId: 'mi-1',
        output: 'Unable to connect to specified port',
        createdDate: Date.now(),
      }),
      true,
    )
    expect(await closed).toBe('Unable to connect to specified port')
  })

  it('on stdin EOF waits for acks, then tells the agent TerminateSession', async () => {
    const { session, agent, ws } = await openedSession()
    session.write(Buffer.from('bye'))
    const ending = session.end()
    const data = ws.frames().find((f) => f.payloadType === PayloadType.Output)!
    await vi.advanceTimersByTimeAsync(40)
    ws.emit('message', agent.ack(data), true)
    await vi.advanceTimersByTimeAsync(40)
    await ending
    const flag = ws.frames().find((f) => f.payloadType === PayloadType.Flag)!
    expect(parseFlag(flag.payload)).toBe(FlagCode.TerminateSession)
  })

  it('fails with a SessionError when no handshake comes', async () => {
    const session = newSession(2_000)
    const opening = session.open()
    const assertion = expect(opening).rejects.toBeInstanceOf(SessionError)
    await vi.advanceTimersByTimeAsync(2_001)
    await assertion
  })

  it('a 1008 close (token refused) fails instead of reconnecting', async () => {
    const { session, ws } = await openedSession()
    const closed = new Promise<string | undefined>((r) => session.once('close', r))
    ws.drop(1008, 'invalid token')
    expect(await closed).toMatch(/refused the data channel: invalid token/)
    expect(sockets).toHaveLength(1)
  })

  it('pause_publication does not stop our sending (a lost start_publication stalled the session for good)', async () => {
    const { session, ws } = await openedSession()
    ws.emit(
      'message',
      encodeMessage({
        messageType: MessageType.PausePublication,
        sequenceNumber: 0,
        flags: 0,
        payloadType: 0,
        payload: Buffer.alloc(0),
      }),
      true,
    )
    session.write(Buffer.from('still-sending'))
    const data = ws.frames().filter((f) => f.payloadType === PayloadType.Output)
    expect(data.map((f) => f.payload.toString())).toEqual(['still-sending'])
  })

  it('ResumeSession without a token ends at once: "timed out", not six retries and "could not resume"', async () => {
    const { session, ws } = await openedSession(async () => {
      resumes++
      throw new SessionGoneError('session s-1 timed out: the service no longer resumes it')
    })
    const closed = new Promise<string | undefined>((r) => session.once('close', r))
    ws.drop()
    await vi.advanceTimersByTimeAsync(10)
    expect(await closed).toMatch(/timed out/)
    expect(resumes).toBe(1)
  })

  it('a ResumeSession that never answers gives up in under a minute (a black-holed endpoint took ~165 s)', async () => {
    const { session, ws } = await openedSession(() => new Promise(() => {}))
    let reason: string | undefined
    session.once('close', (r) => {
      reason = r
    })
    ws.drop()
    await vi.advanceTimersByTimeAsync(59_000)
    expect(reason).toMatch(/could not resume it \(ResumeSession did not answer in 8 s\)/)
  })
})
