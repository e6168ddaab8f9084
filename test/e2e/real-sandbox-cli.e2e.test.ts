// `ssm-ssh sandbox --real N` as a user runs it, from start to stop: one JSON line once the real
// instances are Online, `ls` and a real ssh through it, then SIGTERM, SIGINT (alone and as Ctrl-C sends
// it, to the whole process group) and SIGKILL, after which no process and no mount of it may remain and
// the same --state must serve again. What the sandbox cannot clean it names on stderr. Without root it
// says why in one line and the simulated agent plays every instance.
import { execFileSync, spawn } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { MARKER } from '../../src/sandbox/real/marker.ts'
import { defaultAgentBinDir, findTool } from '../../src/sandbox/real/prerequisites.ts'
import { liveInstanceProcesses } from '../../src/sandbox/real/reap.ts'
import { cleanEnv, cli, writeSshConfig } from '../helpers/e2e.ts'
import { describeReal } from '../helpers/real.ts'
import { makeClientKey } from '../helpers/ssh-key.ts'

const AGENT_VERSION = '3.3.1142.0'
/** setpriv's arguments to run a command as nobody */
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups']
const READY = /^ssm-ssh: sandbox ready: 12 instances at http:\/\/127\.0\.0\.1:\d+ \(Ctrl-C stops it\)$/

interface SandboxInfo {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
}

interface RunOptions {
  /** its HOME (and, by default, --state HOME/state) */
  home: string
  cwd?: string
  /** its own process group, so a test can signal the group as a terminal's Ctrl-C does */
  detached?: boolean
  /** run it as nobody through setpriv */
  unprivileged?: boolean
}

function spawnSandbox(args: string[], opts: RunOptions) {
  const argv = [cli, 'sandbox', ...args]
  return execa(
    opts.unprivileged ? 'setpriv' : process.execPath,
    opts.unprivileged ? [...NOBODY, process.execPath, ...argv] : argv,
    {
      // the agent binaries describeReal found, wherever SSM_SSH_AGENT_BIN_DIR put them
      env: cleanEnv(opts.home, { SSM_SSH_AGENT_BIN_DIR: defaultAgentBinDir() }),
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      // the first line is read below; stderr is kept for the assertions
      buffer: { stdout: false, stderr: true },
      forceKillAfterDelay: false,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.detached ? { detached: true } : {}),
    },
  )
}

type Child = ReturnType<typeof spawnSandbox>

interface Running {
  child: Child
  info: SandboxInfo
  /** the environment of an AWS client of this sandbox */
  env: NodeJS.ProcessEnv
  /** spawn to the JSON line: the sandbox prints it once every real instance is Online */
  readyMs: number
}

async function startSandboxCli(args: string[], opts: RunOptions): Promise<Running> {
  const started = performance.now()
  const child = spawnSandbox(args, opts)
  running.add(child)
  const lines = createInterface({ input: child.stdout })
  const first = new Promise<string>((resolve) => lines.once('line', resolve))
  const line = await Promise.race([
    first,
    child.then((r) => {
      throw new Error(`the sandbox exited (${r.exitCode ?? r.signal}) before its first line:\n${r.stderr}`)
    }),
  ])
  const readyMs = Math.round(performance.now() - started)
  const info = JSON.parse(line) as SandboxInfo
  const env = cleanEnv(opts.home, {
    AWS_ENDPOINT_URL: info.endpoint,
    AWS_REGION: info.region,
    AWS_ACCESS_KEY_ID: info.accessKeyId,
    AWS_SECRET_ACCESS_KEY: info.secretAccessKey,
  })
  return { child, info, env, readyMs }
}

/** Signal the sandbox (or its process group) and wait for it to exit: exit code, stderr, how long. */
async function stopSandboxCli(sandbox: Running, signal: NodeJS.Signals, opts: { group?: boolean } = {}) {
  const started = performance.now()
  if (opts.group) process.kill(-(sandbox.child.pid as number), signal)
  else sandbox.child.kill(signal)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      sandbox.child.kill('SIGKILL')
      reject(new Error(`the sandbox did not exit within 15 s of ${signal}`))
    }, 15_000)
  })
  const r = await Promise.race([sandbox.child, timeout]).finally(() => clearTimeout(timer))
  running.delete(sandbox.child)
  const ms = Math.round(performance.now() - started)
  return { exitCode: r.exitCode, signal: r.signal, stderr: String(r.stderr), ms }
}

/** Every sandbox a test started and did not stop: afterAll kills them, whatever failed. */
const running = new Set<Child>()

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL')
  await Promise.allSettled([...running])
  running.clear()
})

const cmdlineOf = (pid: number | string) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
  } catch {
    return ''
  }
}

/**
 * What is left of a sandbox whose state is `state`: the processes of each instance (marked, or in its
 * PID namespace), any process whose command line names the state dir, and mounts under it.
 */
function leftBehind(state: string): string[] {
  const real = join(state, 'real')
  const ids = existsSync(real) ? readdirSync(real) : []
  const inInstances = ids.flatMap((id) =>
    liveInstanceProcesses(join(real, id)).map((pid) => `${id}: pid ${pid} ${cmdlineOf(pid)}`),
  )
  const naming = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .map((pid) => ({ pid, cmdline: cmdlineOf(pid) }))
    .filter(({ cmdline }) => cmdline.includes(state))
    .map(({ pid, cmdline }) => `pid ${pid}: ${cmdline}`)
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((path) => path === state || path.startsWith(`${state}/`))
    .map((path) => `mount ${path}`)
  return [...inInstances, ...naming, ...mounts]
}

async function ls(env: NodeJS.ProcessEnv) {
  const r = await execa(process.execPath, [cli, 'ls', '--json', '--refresh'], {
    env,
    extendEnv: false,
    reject: false,
  })
  expect(r.stderr).toBe('')
  expect(r.exitCode).toBe(0)
  return JSON.parse(r.stdout) as Array<Record<string, unknown>>
}

const idsOfReal = (state: string) => readdirSync(join(state, 'real')).sort()

describeReal('ssm-ssh sandbox --real: start, serve, stop, leave nothing behind', () => {
  let base: string
  let pub: string
  let sshConfig: string
  /** a fresh HOME and state dir for each sandbox run */
  const homeFor = (name: string) => {
    const home = join(base, name)
    mkdirSync(home)
    return { home, state: join(home, 'state') }
  }
  const ssh = (env: NodeJS.ProcessEnv, host: string, command: string) =>
    execa('ssh', ['-F', sshConfig, host, command], {
      env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    })

  beforeAll(() => {
    // the real path: mountinfo shows mount points with symlinks resolved
    base = realpathSync(mkdtempSync(join(tmpdir(), 'ssm-ssh-real-cli-')))
    const key = makeClientKey(base)
    pub = `${key.path}.pub`
    sshConfig = writeSshConfig(join(base, 'ssh_config'), key.path)
  })

  afterAll(() => {
    if (!base) return
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const path = line.split(' ')[4] ?? ''
      if (path.startsWith(`${base}/`)) execFileSync('umount', ['-l', path])
    }
    rmSync(base, { recursive: true, force: true })
  })

  describe('--real 3, stopped with SIGTERM', () => {
    let sandbox: Running
    let state: string

    it('is Online with the real agent: ls lists its 3 instances, ssh to pi-garage runs hostname there', async ({
      annotate,
    }) => {
      const run = homeFor('term')
      state = run.state
      sandbox = await startSandboxCli(['--real', '3', '--state', state, '--authorized-key', pub], run)
      await annotate(`spawn to 3 real instances Online (the JSON line): ${sandbox.readyMs} ms`)
      expect(Object.keys(sandbox.info)).toEqual(['endpoint', 'region', 'accessKeyId', 'secretAccessKey'])
      const rows = await ls(sandbox.env)
      expect(rows).toHaveLength(12)
      const realIds = idsOfReal(state)
      expect(realIds).toHaveLength(3)
      const real = rows.filter((row) => realIds.includes(String(row.id)))
      expect(real.map((row) => row.name).sort()).toEqual(['pi-garage', 'pi-gateway', 'pi-kitchen'])
      for (const row of real) {
        expect(row.pingStatus).toBe('Online')
        expect(row.agentVersion).toBe(AGENT_VERSION)
      }
      // what the agent itself reports: its hostname, and the first address of its loopback-only network
      // (the gateway's LAN addresses sit on its lo)
      const reported = Object.fromEntries(real.map((row) => [row.name, [row.computerName, row.ipAddress]]))
      expect(reported).toEqual({
        'pi-garage': ['pi-garage', '127.0.0.1'],
        'pi-gateway': ['pi-gateway', '10.20.0.10'],
        'pi-kitchen': ['pi-kitchen', '127.0.0.1'],
      })
      // a simulated Pi reports NAME.local, a simulated EC2 instance ip-…: 3 of the fleet are the real agent
      expect(rows.filter((row) => row.computerName === row.name)).toHaveLength(3)
      const started = performance.now()
      const r = await ssh(sandbox.env, 'pi@pi-garage', 'hostname')
      await annotate(`ssh pi@pi-garage hostname: ${Math.round(performance.now() - started)} ms`)
      expect(r.stderr).toBe('')
      expect(r.stdout).toBe('pi-garage')
      expect(r.exitCode).toBe(0)
    })

    it('SIGTERM: exits 0 within 10 s, prints nothing it could not clean, leaves no process or mount', async ({
      annotate,
    }) => {
      expect(sandbox, 'the sandbox of the test before').toBeDefined()
      expect(leftBehind(state).length).toBeGreaterThan(3)
      const r = await stopSandboxCli(sandbox, 'SIGTERM')
      await annotate(`SIGTERM to exit: ${r.ms} ms`)
      expect(r.exitCode).toBe(0)
      expect(r.ms).toBeLessThan(10_000)
      expect(r.stderr.split('\n')).toEqual([expect.stringMatching(READY)])
      expect(leftBehind(state)).toEqual([])
    })
  })

  it.for([
    { to: 'the sandbox alone (kill -INT)', group: false },
    { to: 'its process group, as Ctrl-C in a terminal sends it', group: true },
  ])('SIGINT to $to: exits 0 within 10 s and leaves nothing', async ({ group }, { annotate }) => {
    const run = homeFor(group ? 'int-group' : 'int')
    const sandbox = await startSandboxCli(['--real', '3', '--state', run.state, '--authorized-key', pub], {
      ...run,
      detached: group,
    })
    await annotate(`spawn to 3 real instances Online: ${sandbox.readyMs} ms`)
    expect(idsOfReal(run.state)).toHaveLength(3)
    const r = await stopSandboxCli(sandbox, 'SIGINT', { group })
    await annotate(`SIGINT to exit: ${r.ms} ms`)
    expect(r.exitCode).toBe(0)
    expect(r.ms).toBeLessThan(10_000)
    expect(r.stderr.split('\n')).toEqual([expect.stringMatching(READY)])
    expect(leftBehind(run.state)).toEqual([])
  })

  it('SIGKILL: its instances go with it; the same --state then serves again and stops clean', async ({
    annotate,
  }) => {
    const run = homeFor('kill')
    const killed = await startSandboxCli(['--real', '3', '--state', run.state, '--authorized-key', pub], run)
    const ids = idsOfReal(run.state)
    expect(ids).toHaveLength(3)
    const r = await stopSandboxCli(killed, 'SIGKILL')
    expect(r.signal).toBe('SIGKILL')
    const started = performance.now()
    await vi.waitFor(() => expect(leftBehind(run.state)).toEqual([]), { timeout: 5000, interval: 50 })
    await annotate(`SIGKILL to no process left: ${Math.round(performance.now() - started)} ms`)
    // each PID 1 took its namespace down itself, on EOF of its lifeline
    for (const id of ids) {
      expect(readFileSync(join(run.state, 'real', id, 'init.log'), 'utf8')).toContain(
        'init: stdin closed: the sandbox is gone',
      )
    }

    const again = await startSandboxCli(['--real', '1', '--state', run.state, '--authorized-key', pub], run)
    await annotate(`restart on the same --state to 1 real instance Online: ${again.readyMs} ms`)
    const rows = await ls(again.env)
    const kitchen = rows.find((row) => row.name === 'pi-kitchen')
    expect(kitchen).toMatchObject({
      pingStatus: 'Online',
      agentVersion: AGENT_VERSION,
      computerName: 'pi-kitchen',
    })
    // the killed sandbox's other instances are simulated again
    expect(rows.filter((row) => row.computerName === row.name).map((row) => row.name)).toEqual(['pi-kitchen'])
    const login = await ssh(again.env, 'pi@pi-kitchen', 'hostname')
    expect(login.stdout).toBe('pi-kitchen')
    expect(login.exitCode).toBe(0)
    const stopped = await stopSandboxCli(again, 'SIGTERM')
    await annotate(`SIGTERM to exit: ${stopped.ms} ms`)
    expect(stopped.exitCode).toBe(0)
    // nothing to reap from the killed run, nothing it could not clean
    expect(stopped.stderr.split('\n')).toEqual([expect.stringMatching(READY)])
    expect(leftBehind(run.state)).toEqual([])
  })

  it('names on stderr what it could not clean: a process and a mount left in an instance dir', async () => {
    const run = homeFor('leftover')
    // a relative --state, as a user types it: the instances get absolute paths all the same
    const sandbox = await startSandboxCli(['--real', '1', '--state', 'state', '--authorized-key', pub], {
      ...run,
      cwd: run.home,
    })
    const [id] = idsOfReal(run.state)
    const dir = join(run.state, 'real', id as string)
    // a process marked as the instance's, which the sandbox does not know, and a mount in its dir
    const stray = spawn('bash', ['-c', 'sleep 60; :', MARKER, dir, String(sandbox.child.pid)], {
      detached: true,
      stdio: 'ignore',
    })
    const stuck = join(dir, 'stuck')
    mkdirSync(stuck)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'ssm-ssh-test', stuck])
    try {
      await vi.waitFor(() => expect(cmdlineOf(stray.pid as number)).toContain(MARKER))
      const r = await stopSandboxCli(sandbox, 'SIGTERM')
      expect(r.exitCode).toBe(0)
      expect(r.stderr.split('\n')).toEqual([
        expect.stringMatching(READY),
        `ssm-ssh: sandbox: could not clean ${id}: process ${stray.pid} (bash) is still running`,
        `ssm-ssh: sandbox: could not clean ${id}: ${stuck} is still mounted`,
      ])
    } finally {
      process.kill(-(stray.pid as number), 'SIGKILL')
      execFileSync('umount', [stuck])
    }
  })
})

describe('ssm-ssh sandbox --real without root', () => {
  const root = process.getuid?.() === 0
  it.skipIf(process.platform !== 'linux' || (root && !findTool('setpriv')))(
    'says why in one line on stderr and serves simulated instances',
    async ({ skip }) => {
      if (root) {
        // nobody must be able to read the built CLI: not so in a checkout under a private home
        const bundle = join(dirname(dirname(cli)), 'dist', 'main.cjs')
        const readable = await execa('setpriv', [...NOBODY, 'test', '-r', bundle], { reject: false })
        if (readable.exitCode !== 0) skip(`nobody cannot read ${bundle}`)
      }
      // a HOME and state dir that nobody can write
      const home = mkdtempSync(join(tmpdir(), 'ssm-ssh-nobody-'))
      chmodSync(home, 0o777)
      const state = join(home, 'state')
      try {
        const sandbox = await startSandboxCli(['--real', '1', '--state', state], { home, unprivileged: root })
        const rows = await ls(sandbox.env)
        const kitchen = rows.find((row) => row.name === 'pi-kitchen')
        // the simulated agent's answers: the same agent version, its own computer name
        expect(kitchen).toMatchObject({
          pingStatus: 'Online',
          agentVersion: AGENT_VERSION,
          computerName: 'pi-kitchen.local',
        })
        expect(rows.filter((row) => row.pingStatus === 'Online').length).toBeGreaterThanOrEqual(10)
        expect(rows.some((row) => row.computerName === row.name)).toBe(false)
        expect(existsSync(join(state, 'real'))).toBe(false)
        const r = await stopSandboxCli(sandbox, 'SIGTERM')
        expect(r.exitCode).toBe(0)
        expect(r.stderr.split('\n')).toEqual([
          expect.stringMatching(
            /^ssm-ssh: sandbox: real instances need root \(uid \d+\); the simulated agent plays every instance$/,
          ),
          expect.stringMatching(READY),
        ])
      } finally {
        rmSync(home, { recursive: true, force: true })
      }
    },
  )
})
