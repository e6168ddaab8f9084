// Run a command inside a real instance as root: nsenter joins PID 1's namespaces (and forks, so the
// command is in its PID namespace), chroot enters the instance's root, which exists only in that
// mount namespace.
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'

export interface ExecOptions {
  input?: string
  /** default 30 s; the whole process group is killed then */
  timeoutMs?: number
  env?: Record<string, string>
}

export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
}

export const INSIDE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

let inputs = 0

/**
 * stdin as a deleted regular file (or /dev/null): Node's stdio pipes are socketpairs, and `bash -c`
 * with a socket on stdin thinks sshd started it and sources ~/.bashrc, the machine's root's here
 * (pyenv init made every `bash -c` 100 ms slower).
 */
function stdinFor(input: string | undefined): number | 'ignore' {
  if (input === undefined) return 'ignore'
  const path = join(tmpdir(), `ssm-ssh-exec-input-${process.pid}-${++inputs}`)
  const fd = openSync(path, 'w+', 0o600)
  unlinkSync(path)
  // a positional write leaves the offset at 0, where the child starts reading
  writeSync(fd, input, 0)
  return fd
}

export function execInside(
  initPid: number,
  root: string,
  argv: string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const nsenter = ['--target', String(initPid), '--mount', '--uts', '--ipc', '--net', '--pid']
  const stdin = stdinFor(opts.input)
  let child: ChildProcess
  try {
    child = spawn('nsenter', [...nsenter, '--', 'chroot', root, ...argv], {
      // its own process group: killing nsenter alone would leave its child running in the instance
      detached: true,
      env: { PATH: INSIDE_PATH, HOME: '/root', LANG: 'C.UTF-8', ...opts.env },
      stdio: [stdin, 'pipe', 'pipe'],
    })
  } finally {
    if (typeof stdin === 'number') closeSync(stdin)
  }
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk))
  const timeoutMs = opts.timeoutMs ?? 30_000
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL')
      } catch {
        // already gone
      }
      reject(new Error(`timed out after ${timeoutMs} ms inside the instance: ${argv.join(' ')}`))
    }, timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      })
    })
  })
}
