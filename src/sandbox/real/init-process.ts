// The `unshare` that makes a real instance's namespaces and the init script it forks as PID 1 (see
// init-script.ts): start, wait until ready, stop.
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { execInside } from './enter.ts'
import { MARKER, PID_NAMESPACE_FILE, pidNamespaceOf } from './marker.ts'
import { TOOL_PATH } from './prerequisites.ts'
import { liveInstanceProcesses } from './reap.ts'

const UNSHARE = ['--mount', '--pid', '--net', '--uts', '--ipc', '--fork', '--mount-proc']
const START_TIMEOUT_MS = 20_000
/** PID 1 gives the agent 2 s to stop on SIGTERM; after this it is killed with the namespace. */
const STOP_TIMEOUT_MS = 3000

export interface InitProcess {
  /** global pid of PID 1; 0 until unshare has forked it */
  readonly pid: number
  /** resolves once sshd and the forwarder listen and the agent runs; rejects if PID 1 gives up */
  ready(): Promise<void>
  /** SIGTERM to PID 1, SIGKILL after 3 s; resolves when every process of the instance is gone */
  stop(): Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {
    // already gone
  }
}

export async function tailOf(path: string, lines: number): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '')
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

/** Start `<dir>/init.sh` as PID 1 of new namespaces; its output goes to `<dir>/init.log`. */
export function spawnInit(dir: string): InitProcess {
  const initLog = openSync(join(dir, 'init.log'), 'a', 0o600)
  let child: ChildProcess
  try {
    const argv = [...UNSHARE, '--propagation', 'private', '--kill-child', 'bash', join(dir, 'init.sh')]
    child = spawn('unshare', [...argv, MARKER, dir, String(process.pid)], {
      stdio: ['pipe', initLog, initLog],
      env: { PATH: TOOL_PATH, LANG: 'C.UTF-8' },
      // its own process group: a terminal's Ctrl-C reaches the sandbox, which stops the agent gracefully,
      // not every process of the instance at once (the stdin lifeline still covers a killed sandbox)
      detached: true,
    })
  } finally {
    closeSync(initLog)
  }
  let gone: string | undefined
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      gone = `unshare failed: ${error.message}`
      resolve()
    })
    child.once('exit', (code, sig) => {
      gone = `PID 1 exited (${code ?? sig})`
      resolve()
    })
  })
  // PID 1's lifeline: nothing is ever written, and EOF (this process gone) ends the instance.
  child.stdin?.on('error', () => {})
  // An instance must not keep the sandbox's Node alive: it dies with it by design.
  child.unref()
  ;(child.stdin as Socket | null)?.unref()

  let pid = 0
  /** unshare forks PID 1 at once; its global pid is unshare's only child. */
  const findPid = async () => {
    const deadline = Date.now() + 5000
    while (gone === undefined && Date.now() < deadline) {
      let children = ''
      try {
        children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
      } catch {
        // not forked yet
      }
      pid = Number(children.trim().split(' ')[0]) || 0
      if (pid > 0) return
      await sleep(5)
    }
    throw new Error(gone ?? 'unshare did not fork')
  }

  const ready = async () => {
    await findPid()
    // The instance's processes carry no marker: liveInstanceProcesses() finds them by this namespace.
    await writeFile(join(dir, PID_NAMESPACE_FILE), `${pidNamespaceOf(pid) ?? ''}\n`)
    const deadline = Date.now() + START_TIMEOUT_MS
    while (!existsSync(join(dir, 'ready'))) {
      if (gone !== undefined) throw new Error(gone)
      if (Date.now() > deadline) throw new Error(`not ready after ${START_TIMEOUT_MS / 1000} s`)
      await sleep(20)
    }
    // PID 1 started the agent (unless the Pi is unenrolled); make sure it did not die at once (a bad
    // config does that).
    const probe = ['bash', '-c', '[ -e /run/ssm-ssh/unenrolled ] || kill -0 "$(cat /run/ssm-ssh/agent.pid)"']
    if ((await execInside(pid, join(dir, 'root'), probe, { timeoutMs: 5000 })).exitCode !== 0) {
      throw new Error(`the agent is not running\n${await tailOf(join(dir, 'logs/agent-output.log'), 10)}`)
    }
  }

  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      child.ref()
      if (gone === undefined) {
        // unshare ignores SIGTERM while it waits for its child: PID 1 gets it and stops the agent
        if (pid > 0) signal(pid, 'SIGTERM')
        else child.kill('SIGKILL')
        const timer = setTimeout(() => {
          if (pid > 0) signal(pid, 'SIGKILL')
          child.kill('SIGKILL')
        }, STOP_TIMEOUT_MS)
        await exited
        clearTimeout(timer)
      }
      child.stdin?.destroy()
      // The kernel empties a PID namespace before its PID 1 is reaped; exec()'s nsenter may lag.
      const deadline = Date.now() + 2000
      while (liveInstanceProcesses(dir).length > 0 && Date.now() < deadline) await sleep(20)
      // gone: the namespace's number is free for the next one the kernel makes
      if (liveInstanceProcesses(dir).length === 0) await rm(join(dir, PID_NAMESPACE_FILE), { force: true })
    })()
    return stopping
  }

  return {
    get pid() {
      return pid
    },
    ready,
    stop,
  }
}
