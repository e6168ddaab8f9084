// One command on one instance over the real ssh, with our ProxyCommand, no terminal and no prompt
// (BatchMode): its exit code and both streams, whole (no output limit, unlike Run Command).
import { proxyCommandFor } from './run-ssh.ts'

export interface RemoteResult {
  /** ssh's exit code: the command's own, or 255 when ssh itself failed */
  exitCode: number
  stdout: string
  stderr: string
  timedOut: boolean
  cancelled: boolean
}

export interface RemoteOptions {
  executable: { node: string; script: string }
  /** --profile/--region for the proxy ssh starts */
  globalArgs: string[]
  /** -l, -i, -o … as the user gave them */
  sshArgs: string[]
  timeoutMs: number
  signal: AbortSignal
  env?: NodeJS.ProcessEnv
}

export async function runRemote(
  instanceId: string,
  command: string,
  options: RemoteOptions,
): Promise<RemoteResult> {
  const { execa } = await import('execa')
  const r = await execa(
    'ssh',
    [
      '-T',
      '-o',
      'BatchMode=yes',
      '-o',
      `ProxyCommand=${proxyCommandFor(options.executable, options.globalArgs)}`,
      '-o',
      `HostKeyAlias=${instanceId}`,
      ...options.sshArgs,
      instanceId,
      command,
    ],
    {
      reject: false,
      stdin: 'ignore',
      encoding: 'utf8',
      stripFinalNewline: false,
      timeout: options.timeoutMs,
      cancelSignal: options.signal,
      ...(options.env ? { env: options.env, extendEnv: false } : {}),
    },
  )
  return {
    exitCode: r.exitCode ?? 255,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    timedOut: r.timedOut,
    cancelled: r.isCanceled,
  }
}
