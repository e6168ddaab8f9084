// The real ssh to an instance, with our ProxyCommand and HostKeyAlias and the terminal handed over.

import { INSTANCE_ID } from '../domain/resolve.ts'
import { type Launcher, launcherWords, quoteProxyArg } from '../domain/ssh-config/sanitize.ts'
import { ChildExitError, TargetError } from '../support/errors.ts'

/** `tokens` are ssh_config tokens such as %r, passed unquoted (they are ours, never the user's). */
export function proxyCommandFor(
  executable: Launcher,
  globalArgs: string[] = [],
  tokens: string[] = [],
): string {
  return [
    ...[...launcherWords(executable), 'proxy', ...globalArgs].map(quoteProxyArg),
    ...tokens,
    '%h',
    '%p',
  ].join(' ')
}

/** Runs `ssh … <id> [args]`; its exit code passes through (ChildExitError when non-zero). */
export async function runSsh(
  executable: Launcher,
  instanceId: string,
  sshArgs: string[],
  globalArgs: string[] = [],
  tokens: string[] = [],
): Promise<number> {
  // the destination is an instance id and nothing else: never an option for ssh ("-F …")
  if (!INSTANCE_ID.test(instanceId)) throw new TargetError(`"${instanceId}" is not an instance id`)
  const { execa } = await import('execa')
  // ssh reads options after the destination too, so the user's options and command follow it as typed
  const args = [
    '-o',
    `ProxyCommand=${proxyCommandFor(executable, globalArgs, tokens)}`,
    '-o',
    `HostKeyAlias=${instanceId}`,
    instanceId,
    ...sshArgs,
  ]
  const result = await execa('ssh', args, { stdio: 'inherit', reject: false })
  if (result.exitCode !== 0)
    throw new ChildExitError(`ssh exited with ${result.exitCode}`, result.exitCode ?? 1)
  return 0
}
