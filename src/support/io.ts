// The process's streams, injected so that commands can be tested with captured buffers.
import { PassThrough, type Readable, type Writable } from 'node:stream'

export interface Io {
  stdin: Readable
  stdout: Writable
  stderr: Writable
  isStdinTTY: boolean
  isStdoutTTY: boolean
  isStderrTTY: boolean
  columns: number
  /** A person can answer a prompt: stdin and stderr are terminals. */
  canPrompt: boolean
  /** Colour allowed on stderr: a TTY and no NO_COLOR. */
  color: boolean
}

export interface TestIo extends Io {
  stdoutText(): string
  stderrText(): string
  stdinWrite(data: string | Uint8Array): void
  stdinEnd(): void
}

export function testIo(
  flags: Partial<Pick<Io, 'isStdinTTY' | 'isStdoutTTY' | 'isStderrTTY' | 'columns'>> = {},
): TestIo {
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: Buffer[] = []
  const err: Buffer[] = []
  stdout.on('data', (c: Buffer) => out.push(c))
  stderr.on('data', (c: Buffer) => err.push(c))
  const isStdinTTY = flags.isStdinTTY ?? false
  const isStderrTTY = flags.isStderrTTY ?? false
  return {
    stdin,
    stdout,
    stderr,
    isStdinTTY,
    isStdoutTTY: flags.isStdoutTTY ?? false,
    isStderrTTY,
    columns: flags.columns ?? 80,
    canPrompt: isStdinTTY && isStderrTTY,
    color: false,
    stdoutText: () => Buffer.concat(out).toString('utf8'),
    stderrText: () => Buffer.concat(err).toString('utf8'),
    stdinWrite: (d) => stdin.write(d),
    stdinEnd: () => stdin.end(),
  }
}
