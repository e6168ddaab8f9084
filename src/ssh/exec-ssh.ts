// The real ssh as a child, non-interactive: its exit code (255 when ssh itself failed) and both
// streams whole, within a time limit and cancellable; stdin is the given text, or nothing.
export interface SshResult {
  /** the remote command's exit code, or 255 when ssh itself failed */
  exitCode: number
  stdout: string
  stderr: string
  timedOut: boolean
  cancelled: boolean
}

export interface ExecSshOptions {
  /** what ssh reads on stdin (a script for `sh -s`); without it, stdin is closed */
  input?: string
  timeoutMs: number
  signal: AbortSignal
  env?: NodeJS.ProcessEnv
}

export async function execSsh(args: string[], options: ExecSshOptions): Promise<SshResult> {
  const { execa } = await import('execa')
  const r = await execa('ssh', args, {
    reject: false,
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
    encoding: 'utf8',
    stripFinalNewline: false,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    ...(options.env ? { env: options.env, extendEnv: false } : {}),
  })
  return {
    exitCode: r.exitCode ?? 255,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    timedOut: r.timedOut,
    cancelled: r.isCanceled,
  }
}
