// Networks where only an HTTP proxy leads out (issue 15): with HTTPS_PROXY set, every API call and
// the data channel's websocket go through it (HTTP CONNECT), as the AWS CLI and the plugin do; with
// NO_PROXY naming the endpoint they go direct. The sandbox speaks TLS here, as AWS does, and records
// which TCP connection carried each request: every one must be a tunnel the proxy opened.
import { createServer, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'

interface ConnectProxy {
  url: string
  /** local ports of the proxy's connections to the target: what the target sees as the peer */
  tunnels: Set<number>
  close(): void
}

async function startConnectProxy(): Promise<ConnectProxy> {
  const tunnels = new Set<number>()
  const sockets = new Set<Socket>()
  const server: Server = createServer((_req, res) => {
    res.writeHead(405)
    res.end()
  })
  server.on('connect', (req, client: Socket, head: Buffer) => {
    const [host = '', port = ''] = (req.url ?? '').split(':')
    const upstream = connect(Number(port), host, () => {
      if (upstream.localPort) tunnels.add(upstream.localPort)
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => sockets.delete(s))
    }
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    tunnels,
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

describe('HTTPS_PROXY and NO_PROXY', () => {
  let w: World
  let proxy: ConnectProxy
  let env: NodeJS.ProcessEnv
  beforeAll(async () => {
    w = await startWorld({ clientTls: true })
    proxy = await startConnectProxy()
    const https = w.box.https
    if (!https) throw new Error('the sandbox did not start TLS for clients')
    env = {
      ...w.env,
      AWS_ENDPOINT_URL: https.endpoint,
      NODE_EXTRA_CA_CERTS: https.caCertFile,
      HTTPS_PROXY: proxy.url,
    }
  })
  afterAll(async () => {
    proxy.close()
    await w.close()
  })

  const sinceNow = () => {
    const from = w.box.state.requests.length
    return () => w.box.state.requests.slice(from)
  }

  it('ls, ssh through proxy (API calls and the websocket) and push-key all go through the proxy, none direct', async () => {
    const seen = sinceNow()
    const ls = await execa(process.execPath, [cli, 'ls', '--json', '--refresh'], {
      env,
      extendEnv: false,
      reject: false,
    })
    expect(ls.stderr).toBe('')
    expect((JSON.parse(ls.stdout) as unknown[]).length).toBe(12)
    const ssh = await execa('ssh', ['-F', w.config, 'pi@pi-kitchen', 'echo through-the-proxy'], {
      env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    })
    expect(ssh.stderr).toBe('')
    expect(ssh.stdout).toBe('through-the-proxy')
    const push = await execa(
      process.execPath,
      [cli, 'push-key', 'pi-garage', '--key', `${w.key.path}.pub`, '--ttl', '1m'],
      {
        env,
        extendEnv: false,
        reject: false,
      },
    )
    expect(push.exitCode, push.stderr).toBe(0)
    const who = await execa(process.execPath, [cli, 'whoami', '--json'], {
      env,
      extendEnv: false,
      reject: false,
    })
    expect(who.stderr).toBe('')
    expect(JSON.parse(who.stdout)).toMatchObject({ proxy: proxy.url, ssmEndpoint: w.box.https?.endpoint })
    const requests = seen()
    const operations = new Set(requests.map((r) => r.operation))
    for (const op of [
      'DescribeInstanceProperties',
      'StartSession',
      'WebSocketUpgrade',
      'SendCommand',
      'GetCallerIdentity',
    ])
      expect(operations).toContain(op)
    const direct = requests.filter((r) => r.peerPort === undefined || !proxy.tunnels.has(r.peerPort))
    expect(direct).toEqual([])
  })

  it('NO_PROXY naming the endpoint goes direct', async () => {
    const seen = sinceNow()
    const tunnels = proxy.tunnels.size
    const ls = await execa(process.execPath, [cli, 'ls', '--json', '--refresh'], {
      env: { ...env, NO_PROXY: '127.0.0.1' },
      extendEnv: false,
      reject: false,
    })
    expect(ls.stderr).toBe('')
    expect(proxy.tunnels.size).toBe(tunnels)
    expect(seen().every((r) => r.peerPort !== undefined && !proxy.tunnels.has(r.peerPort))).toBe(true)
  })
})
