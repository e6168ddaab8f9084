// ssm-ssh forward, the built CLI against the sandbox: real ssh through a forwarded port of a host behind
// the gateway, concurrent raw connections to an instance's own port (a TCP echo service the sandbox maps
// as web-1's port 7), a refused destination next to a working forward, resumes under faults, and
// Ctrl-C ending every session.
import { type ChildProcess, spawn } from 'node:child_process'
import { connect, createServer, type Server } from 'node:net'
import { DescribeSessionsCommand, SSMClient } from '@aws-sdk/client-ssm'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { parseFaults } from '../../src/sandbox/faults.ts'
import { cli, randomData, sha256, startWorld, type World } from '../helpers/e2e.ts'
import { sshBaseArgs } from '../helpers/ssh-key.ts'

const KiB = 1024
const ECHO_PORT = 7

interface ForwardLine {
  listen: string
  target: string
  host: string
  port: number
  sessionId: string
  mode: string
}

interface Running {
  forwards: ForwardLine[]
  stderr(): string
  /** SIGINT (Ctrl-C) or SIGTERM; resolves with the exit code and how long the exit took */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>
}

/** The built CLI's `forward … --json`, once it has printed one line per forward. */
async function startForward(w: World, args: string[], count: number): Promise<Running> {
  const child: ChildProcess = spawn(process.execPath, [cli, 'forward', ...args, '--json'], {
    env: w.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d
  })
  child.stderr?.on('data', (d: Buffer) => {
    err += d
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const lines = () => out.split('\n').filter((l) => l !== '')
  const ready = new Promise<void>((resolve) => {
    const check = () => (lines().length >= count ? resolve() : setTimeout(check, 20))
    check()
  })
  const early = await Promise.race([ready.then(() => undefined), exited.then((code) => ({ code }))])
  if (early) throw new Error(`forward exited with ${early.code} before it listened:\n${err}`)
  return {
    forwards: lines().map((l) => JSON.parse(l) as ForwardLine),
    stderr: () => err,
    stop: async (signal = 'SIGINT') => {
      const t0 = Date.now()
      child.kill(signal)
      const code = await exited
      return { code, ms: Date.now() - t0 }
    },
  }
}

const portOf = (f: ForwardLine | undefined) => Number(f?.listen.split(':').at(-1))

/** After the forward exits: none of its sessions is still Connected (DescribeSessions, State Active). */
async function expectNoneConnected(w: World, sessionIds: string[]): Promise<void> {
  const ssm = new SSMClient({
    endpoint: w.box.endpoint,
    region: w.box.region,
    credentials: { accessKeyId: w.box.accessKeyId, secretAccessKey: w.box.secretAccessKey },
  })
  const active = await ssm.send(new DescribeSessionsCommand({ State: 'Active' }))
  const ours = (active.Sessions ?? []).filter((s) => sessionIds.includes(s.SessionId ?? ''))
  expect(ours.filter((s) => s.Status === 'Connected')).toEqual([])
}

/**
 * One connection to 127.0.0.1:port: send `data` and our FIN at once (20 connections doing so at once
 * reach the agent while it still dials their destinations), and collect what comes back until the far
 * end closes.
 */
function exchange(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true })
    const parts: Buffer[] = []
    socket.on('data', (d: Buffer) => parts.push(d))
    // a refused destination's connection is reset by the forwarder: what came back (nothing) counts
    socket.once('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)))
    socket.once('close', () => resolve(Buffer.concat(parts)))
    socket.end(data)
  })
}

/** A TCP echo service on loopback, played by `name`'s port 7 (the sandbox's extraPorts). */
async function echoAsPort7(w: World, name: string): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (s) => s.pipe(s))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const instance = w.box.state.instances.get(w.idOf(name))
  if (!instance) throw new Error(`no instance ${name}`)
  instance.extraPorts = new Map([[ECHO_PORT, (server.address() as { port: number }).port]])
  return server
}

describe('ssm-ssh forward', () => {
  let w: World
  let echo: Server
  beforeAll(async () => {
    w = await startWorld()
    echo = await echoAsPort7(w, 'web-1')
  })
  afterAll(async () => {
    echo.close()
    await w.close()
  })

  const ssh = (port: number, command: string, user = 'admin') =>
    execa('ssh', [...sshBaseArgs(w.key.path), '-p', String(port), `${user}@127.0.0.1`, command], {
      env: w.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 30_000,
    })

  it('carries real ssh to a host behind the gateway; a refused destination fails only its connection', async () => {
    const fwd = await startForward(w, ['pi-gateway', '-L', '0:10.20.0.11:22', '-L', '0:10.20.0.99:22'], 2)
    const [nas, nowhere] = fwd.forwards
    expect(nas).toMatchObject({ target: w.idOf('pi-gateway'), host: '10.20.0.11', port: 22, mode: 'mux' })
    expect(nas?.listen).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(nowhere).toMatchObject({ host: '10.20.0.99', port: 22, mode: 'mux' })
    expect(fwd.stderr()).toContain(
      `ssm-ssh: forwarding ${nas?.listen} → 10.20.0.11:22 via pi-gateway (${w.idOf('pi-gateway')})\n`,
    )
    expect(w.box.state.sessions.get(nas?.sessionId ?? '')).toMatchObject({
      documentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      parameters: { host: ['10.20.0.11'], portNumber: ['22'], localPortNumber: ['0'] },
    })

    // an ssh session in progress while the other forward's destination refuses
    const longer = ssh(portOf(nas), 'sleep 1; echo still-here')
    const refused = await exchange(portOf(nowhere), Buffer.from('SSH-2.0-test\r\n'))
    expect(refused.length).toBe(0)
    const first = await longer
    expect(first.stderr).toBe('')
    expect(first.stdout).toBe('still-here')
    const again = await ssh(portOf(nas), 'echo nas-ok')
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toBe('nas-ok')
    expect(fwd.stderr().match(/refused/g)).toHaveLength(1)
    expect(fwd.stderr()).toContain('ssm-ssh: 10.20.0.99:22 refused the connection from pi-gateway\n')

    const { code, ms } = await fwd.stop('SIGINT')
    expect(code, fwd.stderr()).toBe(0)
    expect(ms).toBeLessThan(5_000)
    await expectNoneConnected(
      w,
      fwd.forwards.map((f) => f.sessionId),
    )
  })

  it('an agent older than 3.0.196.0 gets basic mode: one connection at a time, the next one dialled anew', async () => {
    const kitchen = w.box.state.instances.get(w.idOf('pi-kitchen'))
    if (!kitchen) throw new Error('no pi-kitchen')
    const was = kitchen.agentVersion
    kitchen.agentVersion = '3.0.161.0'
    onTestFinished(() => {
      kitchen.agentVersion = was
    })
    const fwd = await startForward(w, ['pi-kitchen', '22'], 1)
    const [line] = fwd.forwards
    expect(line).toMatchObject({ host: 'localhost', port: 22, mode: 'basic' })
    // each ssh ends with DisconnectToPort; the agent dials sshd again on the next one's first bytes
    for (const word of ['first', 'second', 'third']) {
      const r = await ssh(portOf(line), `echo ${word}`, 'pi')
      expect(r.stderr).toBe('')
      expect(r.stdout).toBe(word)
    }
    expect(w.box.state.sessions.get(line?.sessionId ?? '')?.status).toBe('Connected')
    const { code } = await fwd.stop('SIGINT')
    expect(code, fwd.stderr()).toBe(0)
    await expectNoneConnected(w, [line?.sessionId ?? ''])
  })

  it('--pick without a terminal says so in one line, exit 2, and opens nothing', async () => {
    const before = w.box.state.sessions.size
    const requests = w.box.state.requests.length
    const r = await execa(process.execPath, [cli, 'forward', '--pick', '22'], {
      env: w.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    })
    expect(r.exitCode).toBe(2)
    expect(r.stderr.split('\n').slice(0, 2)).toEqual([
      'ssm-ssh: --pick needs a terminal',
      '  hint: name the target instead, e.g. pi-kitchen',
    ])
    expect(w.box.state.requests.length).toBe(requests)
    expect(w.box.state.sessions.size).toBe(before)
  })

  it('20 concurrent connections to an instance port over one session, every byte echoed', async () => {
    const fwd = await startForward(w, ['web-1', '-L', `0:localhost:${ECHO_PORT}`], 1)
    const [line] = fwd.forwards
    expect(w.box.state.sessions.get(line?.sessionId ?? '')).toMatchObject({
      documentName: 'AWS-StartPortForwardingSession',
      parameters: { portNumber: [String(ECHO_PORT)], localPortNumber: ['0'] },
    })
    const payloads = Array.from({ length: 20 }, (_, i) => randomData(128 * KiB, i + 1))
    const echoed = await Promise.all(payloads.map((p) => exchange(portOf(line), p)))
    echoed.forEach((e, i) => {
      expect(sha256(e)).toBe(sha256(payloads[i] as Buffer))
    })
    // one session carried them all
    expect([...w.box.state.sessions.values()].filter((s) => s.sessionId === line?.sessionId)).toHaveLength(1)
    const { code, ms } = await fwd.stop('SIGTERM')
    expect(code, fwd.stderr()).toBe(0)
    expect(ms).toBeLessThan(5_000)
    await expectNoneConnected(w, [line?.sessionId ?? ''])
  })
})

describe('ssm-ssh forward with the data channel cut every 2 s', () => {
  let w: World
  let echo: Server
  beforeAll(async () => {
    w = await startWorld({ faults: parseFaults('disconnect=2s') })
    echo = await echoAsPort7(w, 'web-2')
  })
  afterAll(async () => {
    echo.close()
    await w.close()
  })

  it('keeps a long transfer intact across resumes', async () => {
    const fwd = await startForward(w, ['web-2', `${ECHO_PORT}`], 1)
    const data = randomData(4 * 1024 * KiB, 42)
    const echoed = await exchange(portOf(fwd.forwards[0]), data)
    expect(echoed.length).toBe(data.length)
    expect(sha256(echoed)).toBe(sha256(data))
    const resumes = w.box.state.requests.filter((r) => r.operation === 'ResumeSession' && r.status === 200)
    expect(resumes.length).toBeGreaterThanOrEqual(1)
    const { code } = await fwd.stop('SIGINT')
    expect(code, fwd.stderr()).toBe(0)
  })
})
