// Hosts with no agent behind a managed gateway: one hop through an
// AWS-StartPortForwardingSessionToRemoteHost session (proxy --via), two hops with ssh's ProxyJump.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, randomData, sha256, startWorld, type World } from '../helpers/e2e.ts'

describe('proxy --via a managed jump', () => {
  let w: World
  let config: string
  beforeAll(async () => {
    w = await startWorld()
    config = join(w.dir, 'via_config')
    const common = [
      `  IdentityFile ${w.key.path}`,
      '  IdentitiesOnly yes',
      '  BatchMode yes',
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  LogLevel ERROR',
    ]
    writeFileSync(
      config,
      [
        'Host lab-printer',
        '  HostName 10.20.0.10',
        '  User admin',
        `  ProxyCommand "${process.execPath}" "${cli}" proxy --via pi-gateway %h %p`,
        ...common,
        'Host lab-nas',
        '  HostName 10.20.0.11',
        '  User admin',
        `  ProxyCommand "${process.execPath}" "${cli}" proxy --via pi-gateway %h %p`,
        ...common,
        // a name the gateway resolves itself: fd20::11 first (not routed), then 10.20.0.11
        'Host nas-by-name',
        '  HostName lab-nas',
        '  User admin',
        `  ProxyCommand "${process.execPath}" "${cli}" proxy --via pi-gateway %h %p`,
        ...common,
        'Host lab-vault',
        '  HostName 10.30.0.5',
        '  User admin',
        '  ProxyJump lab-nas',
        ...common,
        '',
      ].join('\n'),
    )
  })
  afterAll(async () => w.close())

  const ssh = async (host: string, command: string, input?: Buffer) => {
    const { execa } = await import('execa')
    const r = await execa('ssh', ['-F', config, host, command], {
      env: w.env,
      extendEnv: false,
      reject: false,
      encoding: 'buffer',
      stripFinalNewline: false,
      timeout: 60_000,
      ...(input ? { input } : { stdin: 'ignore' }),
    })
    return { exitCode: r.exitCode, stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr).toString() }
  }

  it('reaches a private host one hop away', async () => {
    const r = await ssh('lab-printer', 'echo printer-ok')
    expect(r.stderr).toBe('')
    expect(r.stdout.toString()).toBe('printer-ok\n')
    const session = [...w.box.state.sessions.values()].at(-1)
    expect(session).toMatchObject({
      documentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      target: w.idOf('pi-gateway'),
      parameters: { host: ['10.20.0.10'], portNumber: ['22'] },
    })
  })

  it('reaches a host two hops away and moves 1 MiB through it', async () => {
    const data = randomData(1024 * 1024, 5)
    const r = await ssh('lab-vault', 'cat > f && sha256sum f', data)
    expect(r.stderr).toBe('')
    expect(r.stdout.toString().split(' ')[0]).toBe(sha256(data))
  })

  it('a host the gateway cannot reach fails that stream (ConnectToPortError), named with the jump', async () => {
    const r = await w.proxy(['--via', 'pi-gateway', '10.99.0.1', '22'])
    expect(r.exitCode).toBe(5)
    expect(r.stderr).toMatch(/^ssm-ssh: pi-gateway could not connect to 10\.99\.0\.1:22\n/)
  })

  it('a jump with an agent too old for remote-host forwarding names both versions', async () => {
    const r = await w.proxy(['--via', w.idOf('pi-old'), '10.20.0.10', '22'])
    expect(r.exitCode).toBe(4)
    expect(r.stderr).toMatch(
      /runs SSM Agent 2\.3\.500\.0; AWS-StartPortForwardingSessionToRemoteHost needs 3\.1\.1374\.0 or newer/,
    )
  })

  it('resolves a LAN name on the gateway and dials each address in turn, as the agent does', async () => {
    const r = await ssh('nas-by-name', 'echo nas-ok')
    expect(r.stderr).toBe('')
    expect(r.stdout.toString()).toBe('nas-ok\n')
    expect([...w.box.state.sessions.values()].at(-1)?.parameters).toMatchObject({ host: ['lab-nas'] })
  })

  it('instance metadata and the VPC resolver are refused by the agent, and the error says so in one line', async () => {
    const imds = await w.proxy(['--via', 'pi-gateway', '169.254.169.254', '80'])
    expect(imds.exitCode).toBe(5)
    expect(imds.stderr).toBe(
      'ssm-ssh: the session ended: Forwarding to IP address 169.254.169.254 is forbidden.\n' +
        '  hint: the SSM Agent on pi-gateway refuses instance-metadata and VPC DNS addresses; reach that host another way',
    )
    const resolver = await w.proxy(['--via', 'web-1', '172.31.0.2', '53'])
    expect(resolver.exitCode).toBe(5)
    expect(resolver.stderr).toMatch(
      /^ssm-ssh: the session ended: Forwarding to IP address 172\.31\.0\.2 is forbidden\.\n/,
    )
    // the session failed on the service, as the agent reports it
    const failed = [...w.box.state.sessions.values()].at(-1)
    expect(failed?.status).toBe('Failed')
    // an unknown name is no refusal: its one stream fails (no address to dial)
    const unknown = await w.proxy(['--via', 'pi-gateway', 'no-such-host', '22'])
    expect(unknown.exitCode).toBe(5)
    expect(unknown.stderr).toMatch(/^ssm-ssh: pi-gateway could not connect to no-such-host:22\n/)
  })
})

describe("ssh's own forwarding through a simulated managed Pi", () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld()
  })
  afterAll(async () => w.close())

  it('ssh -J pi-gateway reaches its LAN hosts, one hop and two', async () => {
    const one = await w.ssh('admin@10.20.0.10', 'echo one-hop', { extraArgs: ['-J', 'pi@pi-gateway'] })
    expect(one.stderr).toBe('')
    expect(one.stdout.toString()).toBe('one-hop\n')
    const data = randomData(256 * 1024, 9)
    const two = await w.ssh('admin@10.30.0.5', 'sha256sum', {
      extraArgs: ['-J', 'pi@pi-gateway,admin@10.20.0.11'],
      input: data,
    })
    expect(two.stderr).toBe('')
    expect(two.stdout.toString().split(' ')[0]).toBe(sha256(data))
    // the gateway forwards only where it reaches: 10.30.0.5 is behind 10.20.0.11, not beside it
    const refused = await w.ssh('admin@10.30.0.5', 'true', { extraArgs: ['-J', 'pi@pi-gateway'] })
    expect(refused.exitCode).toBe(255)
    expect(refused.stderr).toMatch(/open failed|administratively prohibited|Connection closed/)
  })

  it('ssh -L through pi-gateway to a LAN host by name, then ssh through that port', async () => {
    const port = await freePort()
    const { execa } = await import('execa')
    const tunnel = execa(
      'ssh',
      [
        '-F',
        w.config,
        '-N',
        '-o',
        'ExitOnForwardFailure=yes',
        '-L',
        `${port}:lab-printer:22`,
        'pi@pi-gateway',
      ],
      { env: w.env, extendEnv: false, reject: false, stdin: 'ignore' },
    )
    try {
      await waitForPort(port)
      const r = await w.ssh('admin@127.0.0.1', 'echo through-L', {
        extraArgs: ['-p', String(port), '-o', 'ProxyCommand=none'],
      })
      expect(r.stderr).toBe('')
      expect(r.stdout.toString()).toBe('through-L\n')
    } finally {
      tunnel.kill('SIGTERM')
      await tunnel
    }
  })
})

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const { connect } = await import('node:net')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port })
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
