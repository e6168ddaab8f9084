// Run Command on a simulated host: an AWS-RunShellScript script really runs, in the host's home.
// The sandbox runs as one OS user, so "the host" is its home directory: HOME points there and
// scripts that write ~/.ssh/authorized_keys change what that host's SSH server accepts.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RunScript } from '../api/ssm-commands.ts'
import type { SandboxState } from '../model.ts'
import { hostPublicKeys, prepareHome } from './index.ts'

export interface ScriptResult {
  exitCode: number
  stdout: string
  stderr: string
  status?: 'TimedOut' | 'Cancelled'
}

export type { RunScript } from '../api/ssm-commands.ts'

/**
 * Exit code the agent reports for a script it killed at its executionTimeout or on CancelCommand:
 * 128 + SIGKILL (amazon-ssm-agent appconfig CommandStoppedPreemptivelyExitCode on Linux).
 */
export const STOPPED_EXIT_CODE = 137

export function createRunScript(state: SandboxState): RunScript {
  const shell = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh'
  return async (instanceId, script, opts) => {
    const instance = state.instances.get(instanceId)
    if (!instance) throw new Error(`no simulated instance ${instanceId}`)
    await prepareHome(state, instance.home)
    // The host's /etc/ssh, as far as scripts need it: its public host key (push-key prints it) and,
    // on EC2 with the ec2-instance-connect package, the AuthorizedKeysCommand it configures
    const sshEtc = join(state.stateDir, 'etc-ssh', instanceId)
    await mkdir(sshEtc, { recursive: true })
    await writeFile(
      join(sshEtc, 'ssh_host_ed25519_key.pub'),
      `${(await hostPublicKeys(state, instanceId)).join('\n')}\n`,
    )
    const instanceConnect = instance.kind === 'ec2' && instance.instanceConnect !== false
    await writeFile(
      join(sshEtc, 'sshd_config'),
      instanceConnect
        ? 'AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys %u %f\nAuthorizedKeysCommandUser ec2-instance-connect\n'
        : '',
    )
    return new Promise<ScriptResult>((resolve) => {
      const child = spawn(shell, ['-c', script], {
        cwd: instance.home,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          HOME: instance.home,
          USER: instance.users[0] ?? 'root',
          PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
          LANG: 'C.UTF-8',
          TZ: instance.timezone ?? 'UTC',
          SSM_SSH_SANDBOX_HOME: instance.home,
          SSM_SSH_SANDBOX_USERS: instance.users.join(' '),
          SSM_SSH_SANDBOX_SSH_ETC: sshEtc,
        },
      })
      const out: Buffer[] = []
      const err: Buffer[] = []
      child.stdout.on('data', (c: Buffer) => out.push(c))
      child.stderr.on('data', (c: Buffer) => err.push(c))
      let timedOut = false
      let cancelled = false
      const kill = () => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      const timer = setTimeout(() => {
        timedOut = true
        kill()
      }, opts.timeoutSeconds * 1000)
      const cancel = () => {
        cancelled = true
        kill()
      }
      opts.signal.addEventListener('abort', cancel, { once: true })
      child.on('close', (code) => {
        clearTimeout(timer)
        opts.signal.removeEventListener('abort', cancel)
        const stopped = timedOut || cancelled
        const exitCode = stopped ? STOPPED_EXIT_CODE : (code ?? 1)
        const stderr = Buffer.concat(err).toString('utf8')
        resolve({
          exitCode,
          stdout: Buffer.concat(out).toString('utf8'),
          // the agent appends its own line to the script's stderr when the script fails (seen from the
          // real agent 3.3.1142.0: "err\nfailed to run commands: exit status 3")
          stderr:
            exitCode !== 0 && !stopped ? `${stderr}failed to run commands: exit status ${exitCode}` : stderr,
          ...(timedOut ? { status: 'TimedOut' as const } : cancelled ? { status: 'Cancelled' as const } : {}),
        })
      })
      child.on('error', (error) => {
        clearTimeout(timer)
        resolve({ exitCode: 127, stdout: '', stderr: error.message })
      })
    })
  }
}
