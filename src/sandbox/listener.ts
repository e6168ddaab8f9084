// One endpoint, two dialects: the sandbox port (and, for real instances, a Unix socket their
// forwarders dial) takes plain HTTP from clients and TLS from the real agent. The first byte of a
// connection decides: 0x16 opens a TLS handshake, anything else is HTTP.
import type { Server as HttpServer } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'

const TLS_HANDSHAKE = 0x16

export interface DualListener {
  net: NetServer
  close(): Promise<void>
}

/** The TLS side of the endpoint: give it the same 'request' and 'upgrade' listeners as the plain one. */
export function createTlsServer(tls: { cert: Buffer; key: Buffer }): HttpsServer {
  return createHttpsServer({ cert: tls.cert, key: tls.key })
}

/** Accept on `net` and hand each connection to `plain` or, when given, to the TLS server. */
export function createDualListener(plain: HttpServer, tlsServer?: HttpsServer): DualListener {
  const sockets = new Set<Socket>()
  const net = createNetServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    if (!tlsServer) {
      plain.emit('connection', socket)
      socket.resume()
      return
    }
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null
      if (first === null) {
        socket.destroy()
        return
      }
      socket.unshift(first)
      if (first[0] === TLS_HANDSHAKE) tlsServer.emit('connection', socket)
      else plain.emit('connection', socket)
      socket.resume()
    })
  })
  return {
    net,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => net.close(() => resolve()))
    },
  }
}
