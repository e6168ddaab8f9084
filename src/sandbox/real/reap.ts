// Real instances die with their sandbox (PID 1 sees EOF on stdin), so leftovers mean a kernel or
// unshare surprise. A sandbox still looks before it starts instances, and tests use the same scan to
// prove that close() and a killed sandbox leave nothing running.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, readlinkSync, realpathSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import type { Log } from '../../support/log.ts'
import { markedProcesses, pidNamespaceOf, processIds, recordedPidNamespace } from './marker.ts'

const run = promisify(execFile)

/**
 * Every process of the instance in `dir`: the marked `unshare` and PID 1, and all in its PID namespace.
 * The namespace recorded at start also counts while its PID 1 is being torn down (its argv is gone
 * by then), unless another instance's PID 1 now owns it: the kernel reuses namespace numbers at once.
 * For observation only; to kill an instance, kill its marked processes: the kernel does the rest.
 */
export function liveInstanceProcesses(dir: string): number[] {
  const marked = markedProcesses()
  const mine = marked.filter((p) => p.dir === dir)
  const namespaces = new Set(mine.filter((p) => p.isInit).map((p) => pidNamespaceOf(p.pid)))
  const recorded = recordedPidNamespace(dir)
  const others = new Set(marked.filter((p) => p.dir !== dir && p.isInit).map((p) => pidNamespaceOf(p.pid)))
  if (recorded && !others.has(recorded)) namespaces.add(recorded)
  namespaces.delete(undefined)
  const pids = new Set(mine.map((p) => p.pid))
  if (namespaces.size > 0) {
    for (const pid of processIds()) if (namespaces.has(pidNamespaceOf(pid))) pids.add(pid)
  }
  return [...pids].sort((a, b) => a - b)
}

/** SIGKILL the marked processes of `dir` (PID 1 takes its namespace along); the pids killed. */
export function killInstance(dir: string): number[] {
  const pids = markedProcesses()
    .filter((p) => p.dir === dir)
    .map((p) => p.pid)
  for (const pid of pids) kill(pid)
  return pids
}

/** Alive and still node: a pid reused by something else does not keep an instance alive. */
function isSandboxAlive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`)).startsWith('node')
  } catch {
    return false
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

async function waitUntilGone(dir: string, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms
  let left = liveInstanceProcesses(dir)
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    left = liveInstanceProcesses(dir)
  }
  return left
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
const unescapeMountPath = (path: string) =>
  path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))

/** Every mount point in this process's mount namespace. */
function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''))
}

/** Mounts in this namespace under an instance root: private propagation should make this list empty. */
function leakedMounts(): string[] {
  return mountPoints()
    .filter((path) => {
      const root = /^(.*\/real\/[^/]+\/root)(\/|$)/.exec(path)?.[1]
      return root !== undefined && existsSync(join(dirname(root), 'init.sh'))
    })
    .sort((a, b) => b.length - a.length)
}

/**
 * What is left of the stopped instance in `dir`, one line each: processes still running and mounts
 * at or under `dir` in this namespace. Empty after a clean stop (the kernel took the namespaces).
 */
export function instanceLeftovers(dir: string): string[] {
  const processes = liveInstanceProcesses(dir).map((pid) => {
    const name = readFileOr(`/proc/${pid}/comm`, '?').trim()
    return `process ${pid} (${name}) is still running`
  })
  // mountinfo shows paths with symlinks resolved (/tmp may be one)
  const roots = [...new Set([dir, realpathOr(dir)])]
  const mounts = mountPoints()
    .filter((path) => roots.some((root) => path === root || path.startsWith(`${root}/`)))
    .map((path) => `${path} is still mounted`)
  return [...processes, ...mounts]
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

function readFileOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return fallback
  }
}

/** Kill instances whose sandbox is gone and unmount what leaked; one line per thing removed. */
export async function reapStaleInstances(log?: Log): Promise<string[]> {
  const removed: string[] = []
  const stale = new Map<string, number>()
  for (const p of markedProcesses()) if (!isSandboxAlive(p.sandboxPid)) stale.set(p.dir, p.sandboxPid)
  for (const [dir, sandboxPid] of stale) {
    const pids = killInstance(dir)
    const left = await waitUntilGone(dir, 3000)
    const line = `killed the real instance in ${dir} (its sandbox, pid ${sandboxPid}, is gone): pids ${pids.join(' ')}`
    removed.push(left.length > 0 ? `${line}; still running: ${left.join(' ')}` : line)
  }
  for (const path of leakedMounts()) {
    try {
      await run('umount', ['-l', path])
      removed.push(`unmounted ${path}`)
    } catch (error) {
      removed.push(`could not unmount ${path}: ${(error as Error).message.split('\n')[0]}`)
    }
  }
  for (const line of removed) log?.verbose(`real instances: ${line}`)
  return removed
}
