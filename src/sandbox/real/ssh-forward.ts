// Plain SSH from the machine to a real instance that SSM does not reach yet (an unenrolled Pi): a
// 127.0.0.1 port whose connections go to the Unix socket where the instance's forwarder hands them
// to its sshd (init-script.ts). Loopback only, as everything the sandbox serves.
import { createConnection, createServer, type Server, type Socket } from 'node:net'

export interface SshForward {
  port: number
  close(): Promise<void>
}

export async function forwardToSocket(socketPath: string): Promise<SshForward> {
  const open = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = createConnection(socketPath)
    open.add(client).add(upstream)
    client.pipe(upstream).pipe(client)
    const end = () => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    client.on('error', end)
    upstream.on('error', end)
    client.on('close', end)
    upstream.on('close', end)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of open) socket.destroy()
      }),
  }
}
