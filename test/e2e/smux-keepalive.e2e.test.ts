// Agents before 3.1.1446.0 run smux with xtaci's keepalive: NOPs each interval, and the session closed
// when a keepalive timeout passes with nothing from the client. ssm-ssh sends NOPs to agents up to
// 3.1.1511.0 (as the plugin does), so an idle forward outlives the timeout; a client that sends none
// loses its session. The sandbox's timing is shortened (200 ms / 700 ms for xtaci's 10 s / 30 s).
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Sandbox, startSandbox } from '../../src/sandbox/sandbox.ts'
import { silentLog } from '../../src/support/log.ts'
import { CLIENT_VERSION } from '../../src/support/version.ts'
import { DataChannelSession } from '../../src/transport/data-channel-session.ts'
import { PortForwarder } from '../../src/transport/port-forwarder.ts'

const OLD_AGENT = '3.1.1374.0'

describe('smux keepalive against an agent that times out a silent client', () => {
  let box: Sandbox
  let ssm: SSMClient
  let gateway: string
  beforeAll(async () => {
    box = await startSandbox({ fleet: 12, smuxKeepalive: { intervalMs: 200, timeoutMs: 700 } })
    ssm = new SSMClient({
      endpoint: box.endpoint,
      region: box.region,
      credentials: { accessKeyId: box.accessKeyId, secretAccessKey: box.secretAccessKey },
    })
    const instance = [...box.state.instances.values()].find((i) => i.tags.get('Name') === 'pi-gateway')
    if (!instance) throw new Error('no pi-gateway')
    instance.agentVersion = OLD_AGENT
    gateway = instance.id
  })
  afterAll(async () => {
    await box.close()
  })

  /** A forward to 10.20.0.10:22 through the gateway, its client sending NOPs every `keepaliveMs` (0: never). */
  async function forward(keepaliveMs: number) {
    const ticket = await ssm.send(
      new StartSessionCommand({
        Target: gateway,
        DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
        Parameters: { host: ['10.20.0.10'], portNumber: ['22'] },
      }),
    )
    const session = new DataChannelSession({
      streamUrl: ticket.StreamUrl as string,
      tokenValue: ticket.TokenValue as string,
      sessionId: ticket.SessionId as string,
      clientVersion: CLIENT_VERSION,
      resume: () => Promise.reject(new Error('no resume in this test')),
      log: silentLog,
      connectToPortError: 'emit',
    })
    let closed = false
    session.on('close', () => {
      closed = true
    })
    await session.open()
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    new PortForwarder(server, { log: silentLog, keepaliveMs }).start(session)
    return {
      sessionId: ticket.SessionId as string,
      session,
      port: (server.address() as { port: number }).port,
      closed: () => closed,
      close: () => {
        session.destroy()
        server.close()
      },
    }
  }

  const banner = (port: number) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port })
      socket.once('data', (d: Buffer) => {
        socket.destroy()
        resolve(d.toString())
      })
      socket.once('error', reject)
      socket.once('close', () => resolve(''))
    })

  it('our NOPs keep an idle session up past several keepalive timeouts', async () => {
    const f = await forward(200)
    try {
      expect(f.session.agent?.version).toBe(OLD_AGENT)
      expect(f.session.portMode).toBe('mux')
      await new Promise((r) => setTimeout(r, 2_500))
      expect(f.closed()).toBe(false)
      expect(await banner(f.port)).toMatch(/^SSH-2\.0-/)
      expect(box.state.sessions.get(f.sessionId)?.status).toBe('Connected')
    } finally {
      f.close()
    }
  })

  it('a client that sends no NOPs loses the session to the agent (the sandbox enforces the timeout)', async () => {
    const f = await forward(0)
    try {
      await new Promise((r) => setTimeout(r, 2_500))
      expect(f.closed()).toBe(true)
      expect(box.state.sessions.get(f.sessionId)?.status).toBe('Failed')
    } finally {
      f.close()
    }
  })
})
