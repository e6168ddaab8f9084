// The bridge's flow control with a fake session and a slow stdout (no sockets, no sleeps).
import { EventEmitter } from 'node:events'
import { PassThrough, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { DataChannelSession } from './data-channel-session.ts'
import { bridgeStdio } from './stdio-bridge.ts'

class FakeSession extends EventEmitter {
  state = 'open'
  closeReason: string | undefined
  holds = 0
  resumes = 0
  written: Buffer[] = []
  held = false
  write(data: Buffer) {
    this.written.push(data)
    return true
  }
  async end() {
    this.emit('close', undefined)
  }
  destroy() {
    this.emit('close', 'destroyed')
  }
  holdReading() {
    this.holds++
    this.held = true
  }
  resumeReading() {
    this.resumes++
    this.held = false
  }
}

/** A stdout that takes 4 bytes before asking to wait, and finishes writes only when told. */
function slowStdout() {
  const pending: Array<() => void> = []
  const got: Buffer[] = []
  const stream = new Writable({
    highWaterMark: 4,
    write(chunk: Buffer, _enc, done) {
      got.push(chunk)
      pending.push(done)
    },
  })
  const flush = () => {
    while (pending.length > 0) pending.shift()?.()
  }
  return { stream, got, flush }
}

describe('bridgeStdio', () => {
  it('holds the data channel while stdout is behind and resumes it on drain, bytes in order', async () => {
    const session = new FakeSession()
    const stdin = new PassThrough()
    const out = slowStdout()
    const bridged = bridgeStdio(session as unknown as DataChannelSession, stdin, out.stream)
    session.emit('data', Buffer.from('SSH-2.0'))
    expect(session.held).toBe(true)
    // frames already read still arrive while held: they queue, with no second hold
    session.emit('data', Buffer.from('-x\r\n'))
    expect(session.holds).toBe(1)
    out.flush()
    await new Promise((r) => setImmediate(r))
    out.flush()
    await new Promise((r) => setImmediate(r))
    expect(session.held).toBe(false)
    expect(session.resumes).toBe(1)
    expect(Buffer.concat(out.got).toString()).toBe('SSH-2.0-x\r\n')
    stdin.end()
    expect(await bridged).toEqual({ reason: undefined, localEnd: true })
  })

  it('carries stdin to the session and reports the service’s reason for a remote end', async () => {
    const session = new FakeSession()
    const stdin = new PassThrough()
    const out = slowStdout()
    const bridged = bridgeStdio(session as unknown as DataChannelSession, stdin, out.stream)
    stdin.write('hello')
    await new Promise((r) => setImmediate(r))
    expect(Buffer.concat(session.written).toString()).toBe('hello')
    session.emit('close', 'Unable to connect to specified port')
    expect(await bridged).toEqual({ reason: 'Unable to connect to specified port', localEnd: false })
  })
})
