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
    const onData = (chunk: Buffer) => {
      if (!session.write(chunk)) stdin.pause()
    }
    session.on('drain', () => stdin.resume())
    // ssh reads its ProxyCommand's stdout as fast as the agent paces it (< 1 MB/s, §9): writes queue
    // in memory only briefly.
    session.on('data', (data) => stdout.write(data))
    stdin.on('data', onData)
    stdin.once('end', () => {
      localEnd = true
      void session.end()
    })
    stdin.once('error', () => session.destroy())
    session.once('close', (reason) => {
      stdin.off('data', onData)
      stdin.pause()
      const done = () => resolve({ reason, localEnd })
      if (stdout.writableLength === 0) done()
      else stdout.once('drain', done)
    })
  })
}
