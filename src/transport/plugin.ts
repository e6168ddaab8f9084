// Fallback transport: AWS's own session-manager-plugin, started the way the AWS CLI starts it
// (shared/tools/session-manager-plugin/README.md: the argv contract).
import { access, constants } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { CliError } from '../support/errors.ts'

export interface PluginRun {
  startSessionResponse: { SessionId: string; TokenValue: string; StreamUrl: string }
  region: string
  profile?: string
  startSessionRequest: Record<string, unknown>
  /** the SSM endpoint the plugin calls ResumeSession / TerminateSession on */
  endpoint: string
  env: NodeJS.ProcessEnv
  pluginPath?: string
  stdin: Readable
  stdout: Writable
  stderr: Writable
  /** ssh ended us (SIGHUP): stop the plugin too */
  signal?: AbortSignal
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

export async function findPlugin(env: NodeJS.ProcessEnv, explicit?: string): Promise<string> {
  const candidates = explicit
    ? [explicit]
    : env.SSM_SSH_PLUGIN
      ? [env.SSM_SSH_PLUGIN]
      : (env.PATH ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, 'session-manager-plugin'))
  for (const c of candidates) if (await isExecutable(c)) return c
  throw new CliError(
    explicit || env.SSM_SSH_PLUGIN
      ? `session-manager-plugin not found at ${candidates[0]}`
      : 'session-manager-plugin is not installed',
    {
      hint: 'install it (AWS docs: "Install the Session Manager plugin") or use the default --transport native',
    },
  )
}

/** Returns the plugin's exit code. */
export async function runPlugin(run: PluginRun): Promise<number> {
  const plugin = await findPlugin(run.env, run.pluginPath)
  const { execa } = await import('execa')
  const child = execa(
    plugin,
    [
      JSON.stringify(run.startSessionResponse),
      run.region,
      'StartSession',
      run.profile ?? '',
      JSON.stringify(run.startSessionRequest),
      run.endpoint,
    ],
    {
      env: run.env,
      extendEnv: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      reject: false,
      buffer: false,
    },
  )
  // The plugin may exit while ssh still writes: its closed stdin must not crash us (EPIPE).
  child.stdin?.on('error', () => {})
  run.stdin.pipe(child.stdin as Writable)
  child.stdout?.pipe(run.stdout, { end: false })
  child.stderr?.pipe(run.stderr, { end: false })
  const result = await child
  run.stdin.unpipe(child.stdin as Writable)
  return result.exitCode ?? 1
}
