// ssh's stdio as one smux stream of a mux-mode port session (session-protocol.md §8.1): what the
// official plugin does for each local TCP connection of a LocalPortForwarding document against an agent
// newer than 3.0.196.0, here for `proxy --via`, where ssh's stdin/stdout are the one connection.
import type { Readable, Writable } from 'node:stream'
import { needsSmuxKeepalive } from '../protocol/port-mode.ts'
import { SmuxSession } from '../protocol/smux.ts'
import type { DataChannelSession } from './data-channel-session.ts'
import { afterStdoutDrains, type BridgeResult, holdingWriter } from './stdio-bridge.ts'

/** The plugin's smux keepalive interval (xtaci default), for agents that time out a silent session. */
export const SMUX_KEEPALIVE_MS = 10_000
/** After our FIN, how long to wait for the agent's before ending the session anyway. */
const FIN_WAIT_MS = 2_000

export interface MuxBridgeOptions {
  /** send smux NOPs this often; by default every SMUX_KEEPALIVE_MS to agents ≤ 3.1.1511.0, which close a silent session */
  keepaliveMs?: number
}

export function bridgeStdioOverMux(
  session: DataChannelSession,
  stdin: Readable,
  stdout: Writable,
  opts: MuxBridgeOptions = {},
): Promise<BridgeResult> {
  const keepaliveMs =
    opts.keepaliveMs ?? (needsSmuxKeepalive(session.agent?.version ?? '') ? SMUX_KEEPALIVE_MS : 0)
  return new Promise((resolve) => {
    const mux = new SmuxSession('client')
    let localEnd = false
    let finished = false
    let keepalive: NodeJS.Timeout | undefined
    let finWait: NodeJS.Timeout | undefined
    const flush = (): boolean => {
      const bytes = mux.takeOutput()
      return bytes.length === 0 || session.write(bytes)
    }
    const finish = (reason: string | undefined) => {
      if (finished) return
      finished = true
      clearInterval(keepalive)
      clearTimeout(finWait)
      out.stop()
      stdin.off('data', onData)
      stdin.pause()
      afterStdoutDrains(stdout, () => resolve({ reason, localEnd }))
    }
    const stream = mux.openStream()
    flush()
    const onData = (chunk: Buffer) => {
      mux.write(stream, chunk)
      if (!flush()) stdin.pause()
    }
    const out = holdingWriter(session, stdout)
    session.on('data', (data) => {
      let events: ReturnType<SmuxSession['receive']>
      try {
        events = mux.receive(data)
      } catch (error) {
        finish(`the agent's smux stream is unreadable (${(error as Error).message})`)
        session.destroy()
        return
      }
      for (const event of events) {
        if (event.streamId !== stream) continue
        if (event.type === 'data') out.write(event.data)
        else if (event.type === 'fin' || event.type === 'closed') {
          // the destination closed: ssh gets EOF; our side follows with its FIN
          mux.close(stream)
          flush()
          finish(undefined)
        }
      }
      flush()
    })
    if (session.state === 'closed') {
      queueMicrotask(() => finish(session.closeReason))
      return
    }
    if (keepaliveMs > 0) {
      keepalive = setInterval(() => {
        mux.keepalive()
        flush()
      }, keepaliveMs)
      keepalive.unref()
    }
    session.on('drain', () => stdin.resume())
    stdin.on('data', onData)
    stdin.once('end', () => {
      localEnd = true
      mux.close(stream)
      flush()
      finWait = setTimeout(() => finish(undefined), FIN_WAIT_MS)
    })
    stdin.once('error', () => session.destroy())
    session.once('close', finish)
  })
}
