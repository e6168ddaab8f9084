// The forwarder against a scripted agent behind a fake session: real local TCP connections, the agent's
// half of smux (our SmuxSession as the server, as xtaci's server in port_mux.go), no data channel.
import { EventEmitter } from 'node:events'
import { connect, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FlagCode } from '../protocol/constants.ts'
import type { PortMode } from '../protocol/port-mode.ts'
import { SmuxSession } from '../protocol/smux.ts'
import { CliError } from '../support/errors.ts'
import { silentLog } from '../support/log.ts'
import type { AgentInfo } from './data-channel-session.ts'
import { LOCAL_BUFFER_LIMIT, listenAddress, listenLocal, PortForwarder } from './port-forwarder.ts'

class FakeSession extends EventEmitter<{
  data: [Buffer]
  drain: []
  close: [string | undefined]
  connectToPortError: []
}> {
  state: 'open' | 'closed' = 'open'
  agent: AgentInfo | undefined
  flags: number[] = []
  held = false
  /** write() answers false: the send window is full */
  full = false
  written = 0
  onWrite: (data: Buffer) => void = () => {}
  constructor(
    readonly portMode: PortMode,
    version = '3.3.1142.0',
  ) {
    super()
    this.agent = { version, properties: { type: 'LocalPortForwarding' } }
  }
  write(data: Uint8Array): boolean {
    this.written += data.length
    this.onWrite(Buffer.from(data))
    return !this.full
  }
  holdReading() {
    this.held = true
  }
  resumeReading() {
    this.held = false
  }
  sendFlag(code: number) {
    this.flags.push(code)
  }
  destroy() {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.emit('close', undefined)
  }
}

type StreamBehaviour = 'echo' | 'refuse' | 'silent'

/** The agent in mux mode: each stream echoes, or fails its dial (flag, then FIN) as port_mux.go does. */
function muxAgent(session: FakeSession, behaviour: (streamId: number) => StreamBehaviour = () => 'echo') {
  const mux = new SmuxSession('server')
  const opened: number[] = []
  let nops = 0
  const flush = () => {
    const out = mux.takeOutput()
    if (out.length > 0) session.emit('data', out)
  }
  session.onWrite = (data) => {
    for (const event of mux.receive(data)) {
      if (event.type === 'open') {
        opened.push(event.streamId)
        if (behaviour(event.streamId) === 'refuse') {
          session.emit('connectToPortError')
          mux.close(event.streamId)
        }
      } else if (event.type === 'data' && behaviour(event.streamId) === 'echo') {
        mux.write(event.streamId, event.data)
      } else if (event.type === 'fin' && behaviour(event.streamId) === 'echo') {
        mux.close(event.streamId)
      } else if (event.type === 'nop') nops++
    }
    queueMicrotask(flush)
  }
  return {
    mux,
    opened,
    nops: () => nops,
    send: (streamId: number, data: Buffer) => {
      mux.write(streamId, data)
      flush()
    },
  }
}

const servers: Server[] = []
const sockets: Socket[] = []
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const s of servers.splice(0)) s.close()
})

async function setUp(opts: { onRefused?: () => void; keepaliveMs?: number } = {}) {
  const server = await listenLocal({ bind: '127.0.0.1', port: 0 })
  servers.push(server)
  const forwarder = new PortForwarder(server, { log: silentLog, ...opts })
  const port = Number(listenAddress(server).split(':')[1])
  return { server, forwarder, port }
}

async function dial(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port })
  sockets.push(socket)
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  return socket
}

/** Everything the socket receives until it ends. */
function collect(socket: Socket): Promise<Buffer> {
  const parts: Buffer[] = []
  socket.on('data', (d: Buffer) => parts.push(d))
  return new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(parts))))
}

const bytes = (size: number, seed: number) =>
  Buffer.from(Array.from({ length: size }, (_, i) => (i * seed) & 255))

describe('PortForwarder in mux mode', () => {
  it('carries concurrent connections as smux streams 3, 5, 7 …, each its own bytes back', async () => {
    const session = new FakeSession('mux')
    const agent = muxAgent(session)
    const { forwarder, port } = await setUp()
    forwarder.start(session)
    const clients = await Promise.all([1, 2, 3, 4].map(() => dial(port)))
    const payloads = clients.map((_, i) => bytes(100_000 + i, i + 3))
    const echoed = clients.map((c) => collect(c))
    clients.forEach((c, i) => {
      c.end(payloads[i] as Buffer)
    })
    const results = await Promise.all(echoed)
    results.forEach((r, i) => {
      expect(r.equals(payloads[i] as Buffer)).toBe(true)
    })
    expect(agent.opened.sort((a, b) => a - b)).toEqual([3, 5, 7, 9])
    expect(session.flags).toEqual([])
    await vi.waitFor(() => expect(forwarder.open).toBe(0))
  })

  it('takes connections that arrive before the session is open, and carries them once it is', async () => {
    const session = new FakeSession('mux')
    muxAgent(session)
    const { forwarder, port } = await setUp()
    const early = await dial(port)
    const echoed = collect(early)
    early.end('early bird')
    await new Promise((r) => setTimeout(r, 50))
    expect(session.written).toBe(0)
    forwarder.start(session)
    expect((await echoed).toString()).toBe('early bird')
  })

  it('a refused destination (flag, then FIN) closes only that connection, once reported', async () => {
    const session = new FakeSession('mux')
    const refused = vi.fn()
    muxAgent(session, (id) => (id === 5 ? 'refuse' : 'echo'))
    const { forwarder, port } = await setUp({ onRefused: refused })
    forwarder.start(session)
    const good = await dial(port)
    good.write('before ')
    const goodData = collect(good)
    await vi.waitFor(() => expect(session.written).toBeGreaterThan(0))
    const bad = await dial(port)
    const badData = collect(bad)
    bad.write('lost')
    expect((await badData).length).toBe(0)
    expect(refused).toHaveBeenCalledTimes(1)
    good.end('after')
    expect((await goodData).toString()).toBe('before after')
    expect(session.state).toBe('open')
  })

  it('after the client half-closes, the destination still answers; its FIN ends the connection', async () => {
    const session = new FakeSession('mux')
    const agent = muxAgent(session, () => 'silent')
    const { forwarder, port } = await setUp()
    forwarder.start(session)
    const client = await dial(port)
    const received = collect(client)
    client.end('question')
    await vi.waitFor(() => expect(agent.mux.streamState(3)?.remoteFin).toBe(true))
    agent.send(3, Buffer.from('answer'))
    agent.mux.close(3)
    session.emit('data', agent.mux.takeOutput())
    expect((await received).toString()).toBe('answer')
  })

  it('a full send window pauses local reading until drain', async () => {
    const session = new FakeSession('mux')
    muxAgent(session, () => 'silent')
    const { forwarder, port } = await setUp()
    forwarder.start(session)
    const client = await dial(port)
    session.full = true
    client.write(bytes(4 * 1024 * 1024, 7))
    await new Promise((r) => setTimeout(r, 100))
    const whileFull = session.written
    expect(whileFull).toBeLessThan(1024 * 1024)
    session.full = false
    session.emit('drain')
    await vi.waitFor(() => expect(session.written).toBeGreaterThan(4 * 1024 * 1024))
  })

  it('a local reader that falls behind holds the session’s reading until it catches up', async () => {
    const session = new FakeSession('mux')
    const agent = muxAgent(session, () => 'silent')
    const { forwarder, port } = await setUp()
    forwarder.start(session)
    const client = await dial(port)
    client.pause()
    await vi.waitFor(() => expect(agent.opened).toEqual([3]))
    // more than the kernel's loopback buffers and LOCAL_BUFFER_LIMIT together
    const chunk = bytes(64 * 1024, 3)
    for (let sent = 0; !session.held && sent < 64 * 1024 * 1024; sent += chunk.length) {
      agent.send(3, chunk)
      await new Promise((r) => setImmediate(r))
    }
    expect(session.held).toBe(true)
    expect(LOCAL_BUFFER_LIMIT).toBeGreaterThan(0)
    client.resume()
    await vi.waitFor(() => expect(session.held).toBe(false))
  })

  it('sends smux NOPs to agents up to 3.1.1511.0', async () => {
    const session = new FakeSession('mux', '3.1.1511.0')
    const agent = muxAgent(session)
    const { forwarder } = await setUp({ keepaliveMs: 10 })
    forwarder.start(session)
    await vi.waitFor(() => expect(agent.nops()).toBeGreaterThanOrEqual(2))
    forwarder.close()
  })

  it('drops every local connection and stops listening when the session closes', async () => {
    const session = new FakeSession('mux')
    muxAgent(session, () => 'silent')
    const { forwarder, port, server } = await setUp()
    forwarder.start(session)
    const client = await dial(port)
    const closed = collect(client)
    await vi.waitFor(() => expect(forwarder.open).toBe(1))
    session.destroy()
    await closed
    expect(server.listening).toBe(false)
  })
})

describe('PortForwarder in basic mode', () => {
  it('carries one connection at a time; each end sends DisconnectToPort and lets the next one in', async () => {
    const session = new FakeSession('basic', '3.0.196.0')
    // the agent's one destination connection: echo, prefixed with how many DisconnectToPort it has had
    session.onWrite = (data) =>
      queueMicrotask(() => session.emit('data', Buffer.from(`${session.flags.length}:${data}`)))
    const { forwarder, port } = await setUp()
    forwarder.start(session)
    const first = await dial(port)
    const second = await dial(port)
    const firstData = collect(first)
    const secondData = collect(second)
    second.write('two')
    first.write('one')
    await vi.waitFor(() => expect(session.written).toBe(3))
    await new Promise((r) => setTimeout(r, 50))
    expect(session.written).toBe(3) // the second waits
    first.end()
    expect((await firstData).toString()).toBe('0:one')
    await vi.waitFor(() => expect(session.flags).toEqual([FlagCode.DisconnectToPort]))
    await vi.waitFor(() => expect(session.written).toBe(6))
    second.end()
    expect((await secondData).toString()).toBe('1:two')
    await vi.waitFor(() =>
      expect(session.flags).toEqual([FlagCode.DisconnectToPort, FlagCode.DisconnectToPort]),
    )
  })
})

describe('PortForwarder in basic mode, before the first connection', () => {
  it('keeps what the destination says before anyone connects (sshd speaks first) for the first connection only', async () => {
    const session = new FakeSession('basic', '3.0.161.0')
    const { forwarder, port } = await setUp()
    forwarder.start(session)
    session.emit('data', Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))
    await new Promise((r) => setTimeout(r, 20))
    const first = await dial(port)
    const firstData = collect(first)
    first.end()
    expect((await firstData).toString()).toBe('SSH-2.0-OpenSSH_9.2\r\n')
    await vi.waitFor(() => expect(session.flags).toEqual([FlagCode.DisconnectToPort]))
    // a stray from the ended connection's destination reaches nobody
    session.emit('data', Buffer.from('late'))
    const second = await dial(port)
    const secondData = collect(second)
    await new Promise((r) => setTimeout(r, 20))
    second.end()
    expect((await secondData).toString()).toBe('')
  })
})

describe('listenLocal', () => {
  it('says when the port is taken, with what to do', async () => {
    const first = await listenLocal({ bind: '127.0.0.1', port: 0 })
    servers.push(first)
    const taken = listenAddress(first)
    const port = Number(taken.split(':')[1])
    const attempt = listenLocal({ bind: '127.0.0.1', port })
    await expect(attempt).rejects.toThrow(CliError)
    await expect(listenLocal({ bind: '127.0.0.1', port })).rejects.toThrow(`${taken} is already in use`)
  })
})
