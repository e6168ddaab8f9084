// stdin → data channel, data channel → stdout, each with backpressure. stdout carries SSH bytes only.
import type { Readable, Writable } from 'node:stream'
import type { DataChannelSession } from './data-channel-session.ts'

export interface BridgeResult {
  /** why the channel closed, when the service said (channel_closed Output) */
  reason: string | undefined
  /** true when our side (stdin EOF) ended it */
  localEnd: boolean
}

export function bridgeStdio(
  session: DataChannelSession,
  stdin: Readable,
  stdout: Writable,
): Promise<BridgeResult> {
  return new Promise((resolve) => {
    let localEnd = false
    const finish = (reason: string | undefined) => {
      out.stop()
      stdin.off('data', onData)
      stdin.pause()
      afterStdoutDrains(stdout, () => resolve({ reason, localEnd }))
    }
    const onData = (chunk: Buffer) => {
      if (!session.write(chunk)) stdin.pause()
    }
    // Bytes that arrived before this listener are handed over first.
    const out = holdingWriter(session, stdout)
    session.on('data', (data) => out.write(data))
    // channel_closed can come in the same read as HandshakeComplete (a refused port): already over,
    // once the early bytes (flushed in a microtask) are written
    if (session.state === 'closed') {
      queueMicrotask(() => finish(session.closeReason))
      return
    }
    session.on('drain', () => stdin.resume())
    stdin.on('data', onData)
    stdin.once('end', () => {
      localEnd = true
      void session.end()
    })
    stdin.once('error', () => session.destroy())
    session.once('close', finish)
  })
}

/**
 * Writes to stdout whose backpressure holds the data channel: without it an unpaced download outruns
 * ssh and queues in memory. stop() forgets a pending release (the bridge is over).
 */
export function holdingWriter(
  session: DataChannelSession,
  stdout: Writable,
): { write(data: Uint8Array): void; stop(): void } {
  let held = false
  const release = () => {
    held = false
    session.resumeReading()
  }
  return {
    write: (data) => {
      if (stdout.write(data) || held) return
      held = true
      session.holdReading()
      stdout.once('drain', release)
    },
    stop: () => stdout.off('drain', release),
  }
}

/** Call `done` once what was written to stdout has gone (at once when nothing is queued). */
export function afterStdoutDrains(stdout: Writable, done: () => void): void {
  if (stdout.writableLength === 0) done()
  else stdout.once('drain', done)
}
