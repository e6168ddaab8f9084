// One command on one instance over the real ssh, with our ProxyCommand, no terminal and no prompt
// (BatchMode): its exit code and both streams, whole (no output limit, unlike Run Command).
import { execSsh, type SshResult } from './exec-ssh.ts'
import { proxyCommandFor } from './run-ssh.ts'

export type RemoteResult = SshResult

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
  return execSsh(
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
    options,
  )
}
