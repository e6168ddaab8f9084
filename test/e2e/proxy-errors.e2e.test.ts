// Every way a connection can fail: one line on stderr with a hint, a distinct exit code, no stack
// trace, within seconds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseFaults } from '../../src/sandbox/faults.ts'
import { startWorld, type World } from '../helpers/e2e.ts'

function expectOneError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n')
  expect(lines[0]).toMatch(/^ssm-ssh: /)
  expect(lines[0]).toMatch(pattern)
  expect(lines[1]).toMatch(/^ {2}hint: /)
  expect(stderr).not.toMatch(/\n\s+at /)
}

describe('proxy errors', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld()
  })
  afterAll(async () => w.close())

  it.each([
    ['no-such-host', 4, /no managed instance named "no-such-host"/],
    ['pi-offline', 4, /is offline: ConnectionLost, last ping/],
    ['pi-clone', 4, /matches 2 instances by name — clones/],
  ])('%s → exit %i', async (target, code, pattern) => {
    const r = await w.proxy([target, '22'])
    expect(r.exitCode).toBe(code)
    expect(r.stdout).toBe('')
    expectOneError(r.stderr, pattern)
  })

  it('names the agent version when it is too old for SSH', async () => {
    const r = await w.proxy([w.idOf('pi-old'), '22'])
    expect(r.exitCode).toBe(4)
    expectOneError(r.stderr, /runs SSM Agent 2\.3\.500\.0; AWS-StartSSHSession needs 2\.3\.672\.0 or newer/)
  })

  it('offline by id fails with its last ping, said the same way as by name (one path printed ISO, the other "9h ago")', async () => {
    const byId = await w.proxy([w.idOf('pi-offline'), '22'])
    expect(byId.exitCode).toBe(4)
    expectOneError(byId.stderr, /is offline \(ConnectionLost, last ping \d+[hd] ago\)/)
    const byName = await w.proxy(['pi-offline', '22'])
    expectOneError(byName.stderr, /is offline: ConnectionLost, last ping \d+[hd] ago/)
  })

  it('rejected credentials → exit 3', async () => {
    const r = await w.proxy(['pi-kitchen', '22'], { env: { AWS_SECRET_ACCESS_KEY: 'wrong' } })
    expect(r.exitCode).toBe(3)
    expectOneError(r.stderr, /AWS rejected the credentials \(InvalidSignatureException\)/)
  })

  it('missing credentials → exit 3', async () => {
    const r = await w.proxy(['pi-kitchen', '22'], {
      env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
    })
    expect(r.exitCode).toBe(3)
    expectOneError(r.stderr, /no AWS credentials found/)
  })

  it('unreachable endpoint → exit 5', async () => {
    const r = await w.proxy(['pi-kitchen', '22'], { env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' } })
    expect(r.exitCode).toBe(5)
    expectOneError(r.stderr, /cannot reach the AWS endpoint/)
  })

  it('a closed port on the instance → exit 5 with the agent’s words', async () => {
    const r = await w.proxy(['pi-kitchen', '2222'])
    expect(r.exitCode).toBe(5)
    expectOneError(r.stderr, /the session ended: Unable to connect to specified port/)
  })

  it('bad arguments → exit 2', async () => {
    const r = await w.proxy(['pi-kitchen', 'http'])
    expect(r.exitCode).toBe(2)
    expectOneError(r.stderr, /port "http" is not a number/)
  })
})

describe('proxy against a stalled agent and a throttling API', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld({ faults: parseFaults('stall,throttle=0.3'), seed: 5 })
  })
  afterAll(async () => w.close())

  it('handshake timeout → exit 5, and throttling was retried on the way', async () => {
    const r = await w.proxy(['pi-kitchen', '22', '--handshake-timeout', '2'])
    expect(r.exitCode).toBe(5)
    expectOneError(r.stderr, /no handshake from the agent within 2 s/)
    expect(w.box.state.requests.some((q) => q.errorCode === 'ThrottlingException')).toBe(true)
    // the session it started was terminated, not left behind
    expect([...w.box.state.sessions.values()].every((s) => s.status === 'Terminated')).toBe(true)
  })
})

describe('proxy and signals, pipes and terminals', () => {
  let w: World
  beforeAll(async () => {
    // every API call takes 1.5 s: time to send a signal while a name resolves
    w = await startWorld({ latencyMs: 1_500 })
  })
  afterAll(async () => w.close())

  const spawnProxy = async (args: string[]) => {
    const { spawn } = await import('node:child_process')
    const { cli } = await import('../helpers/e2e.ts')
    const child = spawn(process.execPath, [cli, 'proxy', ...args], {
      env: w.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    return { child, exited }
  }

  it('a signal during name resolution ends it at once and no session opens (the session used to open anyway)', async () => {
    const before = w.box.state.sessions.size
    const { child, exited } = await spawnProxy(['pi-kitchen', '22'])
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
    })
    await new Promise((r) => setTimeout(r, 600))
    const t0 = Date.now()
    child.kill('SIGHUP')
    expect(await exited).toBe(130)
    expect(Date.now() - t0).toBeLessThan(1_000)
    expect(stderr).toBe('ssm-ssh: interrupted\n')
    await new Promise((r) => setTimeout(r, 4_000))
    expect(w.box.state.sessions.size).toBe(before)
  })

  it('stderr closed under it (EPIPE) ends the session on the service instead of crashing', async () => {
    const { child, exited } = await spawnProxy(['-v', 'pi-kitchen', '22'])
    child.stderr.destroy()
    const code = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r('still running'), 20_000)),
    ])
    // it stops as for SIGHUP (130); the crash on an unhandled EPIPE was exit 1
    expect(code).toBe(130)
    await new Promise((r) => setTimeout(r, 2_000))
    const left = [...w.box.state.sessions.values()].filter(
      (s) => s.target === w.idOf('pi-kitchen') && (s.status === 'Connected' || s.status === 'Connecting'),
    )
    expect(left).toEqual([])
  })
})
