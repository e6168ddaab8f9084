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
    ws.once('unexpected-response', (_req, res) =>
      onError(new Error(`HTTP ${res.statusCode} on the websocket upgrade`)),
    )
    ws.once('open', () => {
      ws.off('error', onError)
      resolve(ws as unknown as WebSocketLike)
    })
  })
}
