// A script run as root on a host that SSM does not reach (a Pi not enrolled yet): the real ssh, plain
// (no ProxyCommand), no terminal and no prompt; the script goes on stdin to `sudo -n sh -s`, so no
// value in it (an activation code) shows in the host's process list.
import { execSsh, type SshResult } from './exec-ssh.ts'

export interface PlainSshTarget {
  /** user@host, as ssh takes it */
  destination: string
  port?: number
  identityFile?: string
  /** -o options as the user gave them */
  options: string[]
}

export type PlainSshResult = SshResult

export function plainSshArgs(target: PlainSshTarget): string[] {
  return [
    '-T',
    '-o',
    'BatchMode=yes',
    ...(target.port !== undefined ? ['-p', String(target.port)] : []),
    ...(target.identityFile !== undefined ? ['-i', target.identityFile] : []),
    ...target.options.flatMap((o) => ['-o', o]),
    '--',
    target.destination,
    'sudo -n sh -s',
  ]
}

export async function runScriptOverSsh(
  target: PlainSshTarget,
  script: string,
  options: { timeoutMs: number; signal: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<PlainSshResult> {
  return execSsh(plainSshArgs(target), { ...options, input: script })
}
