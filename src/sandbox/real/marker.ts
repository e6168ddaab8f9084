// A real instance's PID 1 (and the `unshare` above it) carry `MARKER <dir> <sandbox pid>` in their
// argv, so a later sandbox can tell its own instances from ones a killed sandbox left behind.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'

export const MARKER = 'ssm-ssh-real-instance'

/** The instance's PID namespace (`pid:[4026532…]`), recorded at start: its other processes carry no marker. */
export const PID_NAMESPACE_FILE = 'pid-namespace'

export interface MarkedProcess {
  pid: number
  dir: string
  sandboxPid: number
  /** PID 1 of its own namespace (the init script), not the `unshare` above it */
  isInit: boolean
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return fallback
  }
}

export function processIds(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
}

/** argv of a process, or [] when it is gone (or a kernel thread). */
function argvOf(pid: number): string[] {
  const raw = readOr(`/proc/${pid}/cmdline`, '')
  return raw === '' ? [] : raw.replace(/\0$/, '').split('\0')
}

export function markedProcesses(): MarkedProcess[] {
  const found: MarkedProcess[] = []
  for (const pid of processIds()) {
    const argv = argvOf(pid)
    const at = argv.indexOf(MARKER)
    if (at < 0 || pid === process.pid) continue
    const dir = argv[at + 1]
    const sandboxPid = Number(argv[at + 2])
    if (dir && Number.isInteger(sandboxPid)) {
      found.push({ pid, dir, sandboxPid, isInit: isInitOfItsNamespace(pid) })
    }
  }
  return found
}

/** `NSpid: 4711 1`: the pid is 1 in its innermost namespace. */
function isInitOfItsNamespace(pid: number): boolean {
  const line = /^NSpid:(.*)$/m.exec(readOr(`/proc/${pid}/status`, ''))?.[1] ?? ''
  const ids = line.trim().split(/\s+/)
  return ids.length > 1 && ids.at(-1) === '1'
}

export function pidNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`)
  } catch {
    return undefined
  }
}

/** The namespace recorded in an instance's dir, if it got that far. */
export function recordedPidNamespace(dir: string): string | undefined {
  return readOr(join(dir, PID_NAMESPACE_FILE), '').trim() || undefined
}
