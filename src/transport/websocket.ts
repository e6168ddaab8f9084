// Dialling the data channel. `ws` because Node 20 has no WebSocket client without a flag.
import WebSocket from 'ws'
import { proxyAgentFor } from '../support/proxy-agent.ts'

/** What the session needs of a socket: the real `ws` client, or a fake in tests. */
export interface WebSocketLike {
  send(data: string | Buffer): void
  close(code?: number): void
  terminate(): void
  ping(data?: Buffer): void
  /** stop reading the socket (the reader of our output is behind): TCP then holds the sender back */
  pause(): void
  resume(): void
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this
  on(event: 'error', listener: (error: Error) => void): this
  on(event: 'pong', listener: () => void): this
}

/** The service answered the upgrade with an HTTP status instead of switching protocols. */
export class UpgradeRefusedError extends Error {
  readonly status: number
  /** the reply's body: an AccessDenied text, when the service says one */
  readonly body: string
  constructor(status: number, body: string) {
    super(`HTTP ${status} on the websocket upgrade`)
    this.status = status
    this.body = body
  }
}

/** Gorilla's default (the plugin's dialer) gives up after 45 s; a ProxyCommand should say so sooner. */
const DIAL_TIMEOUT_MS = 15_000

export async function dialWebSocket(
  url: string,
  headers: Record<string, string> = {},
): Promise<WebSocketLike> {
  // through the HTTPS_PROXY (CONNECT) where the environment names one, as the plugin dials
  const agent = await proxyAgentFor(url)
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      handshakeTimeout: DIAL_TIMEOUT_MS,
      perMessageDeflate: false,
      headers,
      ...(agent ? { agent } : {}),
    })
    const onError = (error: Error) => {
      ws.removeAllListeners()
      ws.on('error', () => {})
      reject(error)
    }
    ws.once('error', onError)
    // the refusal's body says why (an IAM deny names the action): read a little of it
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = []
      let size = 0
      const done = () =>
        onError(new UpgradeRefusedError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')))
      res.on('data', (c: Buffer) => {
        if (size < 4096) chunks.push(c)
        size += c.length
      })
      res.once('end', done)
      res.once('error', done)
    })
    ws.once('open', () => {
      ws.off('error', onError)
      resolve(ws as unknown as WebSocketLike)
    })
  })
}
