// A real instance: AWS's amazon-ssm-agent and OpenSSH's sshd in their own mount, PID, network, UTS
// and IPC namespaces, on a copy-on-write view of this machine's root. The agent reaches the sandbox
// through a forwarder from 127.0.0.1:<servicePort> to the sandbox's Unix socket; nothing else leaves
// the namespace. The machine's own files never change: writes land in <dir>/upper or on tmpfs.
import { readFile } from 'node:fs/promises'
import { isAbsolute, join, posix, resolve } from 'node:path'
import { type ExecOptions, type ExecResult, execInside } from './enter.ts'
import { spawnInit, tailOf } from './init-process.ts'
import { type RealInstanceSpec, specProblem } from './instance-spec.ts'
import { realInstancesUnavailable } from './prerequisites.ts'
import { resetDir, writeSeed } from './seed.ts'

export type { ExecOptions, ExecResult } from './enter.ts'
export type { RealInstanceSpec } from './instance-spec.ts'
export type { LanHost } from './sshd-config.ts'

export interface RealInstance {
  readonly id: string
  /** global pid of the namespace's PID 1 */
  readonly pid: number
  /** run argv inside the instance (its namespaces, chrooted in its root) as root */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>
  /** the agent's log (amazon-ssm-agent.log + errors.log) as text, for test failure messages */
  agentLog(): Promise<string>
  /** where a file the instance wrote lives on the machine (the overlay's upper layer; not /tmp or /run) */
  hostPathOf(pathInside: string): string
  /** SIGTERM the agent, kill the namespace within ~3 s; resolves when every process is gone */
  close(): Promise<void>
}

export async function startRealInstance(spec: RealInstanceSpec): Promise<RealInstance> {
  const started = Date.now()
  const dir = resolve(spec.dir)
  const problem = specProblem(spec) ?? realInstancesUnavailable(spec.agentBinDir)
  if (problem) throw new Error(`cannot start real instance ${spec.id}: ${problem}`)
  await resetDir(dir)
  await writeSeed(spec, dir)
  const init = spawnInit(dir)
  try {
    await init.ready()
  } catch (error) {
    await init.stop()
    const tail = await tailOf(join(dir, 'init.log'), 15)
    const message = `real instance ${spec.id} did not start: ${(error as Error).message}\n${tail}`
    throw new Error(message, { cause: error })
  }
  const { pid } = init
  spec.log?.verbose(
    `real instance ${spec.id} (${spec.hostname}): ready in ${Date.now() - started} ms, pid ${pid}`,
  )
  spec.log?.debug(`real instance ${spec.id}: logs in ${dir}/init.log and ${dir}/logs/`)

  const upper = join(dir, 'upper')
  return {
    id: spec.id,
    pid,
    exec: (argv, opts) => execInside(pid, join(dir, 'root'), argv, opts),
    agentLog: () => agentLogOf(dir),
    hostPathOf: (pathInside) => {
      if (!isAbsolute(pathInside)) throw new Error(`hostPathOf needs an absolute path, not "${pathInside}"`)
      return join(upper, posix.normalize(pathInside))
    },
    close: async () => {
      await init.stop()
      spec.log?.verbose(`real instance ${spec.id}: stopped`)
    },
  }
}

async function agentLogOf(dir: string): Promise<string> {
  const read = (path: string) => readFile(path, 'utf8').catch(() => '')
  const logs = join(dir, 'upper/var/log/amazon/ssm')
  const parts = [
    `== amazon-ssm-agent.log ==\n${(await read(join(logs, 'amazon-ssm-agent.log'))) || '(none)\n'}`,
    `== errors.log ==\n${(await read(join(logs, 'errors.log'))) || '(none)\n'}`,
  ]
  // what the agent printed before its logger was up, and panics
  const output = await read(join(dir, 'logs/agent-output.log'))
  if (output.trim()) parts.push(`== stdout/stderr ==\n${output}`)
  return parts.join('')
}
