// argv → command, builds the Context, error → exit code. The only file that touches process.exit,
// process.stdout and the console.
import { createWriteStream, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Context } from './cli/command.ts'
import { commands } from './cli/commands.ts'
import { ownArgs, splitArgv, usageErrorOf } from './cli/global-flags.ts'
import { formatHelp } from './cli/help.ts'
import { quietAwsSdk } from './support/env.ts'
import { CliError, exitCodeOf, UsageError } from './support/errors.ts'
import type { Io } from './support/io.ts'
import { createLog, type LogLevel } from './support/log.ts'
import { resolvePaths } from './support/paths.ts'
import { redact } from './support/redact.ts'
import { terminalSafe as printableText } from './support/terminal-text.ts'
import { VERSION } from './support/version.ts'

function systemIo(): Io {
  const isStdinTTY = Boolean(process.stdin.isTTY)
  const isStderrTTY = Boolean(process.stderr.isTTY)
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    isStdinTTY,
    isStdoutTTY: Boolean(process.stdout.isTTY),
    isStderrTTY,
    columns: process.stderr.columns ?? 80,
    canPrompt: isStdinTTY && isStderrTTY,
    color: isStderrTTY && !process.env.NO_COLOR,
  }
}

/**
 * Our stderr, with CR before each LF when it is a terminal: ssh puts the terminal in raw mode while
 * its session runs, and an error from the ProxyCommand then came out as a staircase.
 */
function terminalSafe(stderr: NodeJS.WriteStream): NodeJS.WritableStream {
  if (!stderr.isTTY) return stderr
  return { write: (text: string) => stderr.write(text.replace(/\r?\n/g, '\r\n')) } as NodeJS.WritableStream
}

function printError(error: unknown, debug: boolean, stderr: NodeJS.WritableStream): void {
  if (error instanceof CliError) {
    stderr.write(`ssm-ssh: ${printableText(redact(error.message))}\n`)
    if (error.hint) stderr.write(`  hint: ${printableText(redact(error.hint))}\n`)
  } else {
    const message = error instanceof Error ? error.message : String(error)
    stderr.write(`ssm-ssh: internal error: ${printableText(redact(message))}\n`)
    stderr.write('  hint: run again with --debug and report it at the project issue tracker\n')
  }
  if (debug) {
    let cause: unknown = error
    while (cause instanceof Error) {
      stderr.write(`${redact(cause.stack ?? cause.message)}\n`)
      cause = cause.cause
      if (cause !== undefined) stderr.write('caused by: ')
    }
  }
}

async function main(argv: string[]): Promise<number> {
  quietAwsSdk(process.env)
  const io = systemIo()
  let debug = process.env.SSM_SSH_DEBUG === '1'
  try {
    const { global, command, rest } = splitArgv(argv, process.env)
    debug = global.debug
    const own = ownArgs(rest)
    const asksVersion = own.includes('--version') || own.includes('-V')
    if (command === 'version' || (asksVersion && command === undefined)) {
      io.stdout.write(`${VERSION}\n`)
      return 0
    }
    if (command === undefined || command === 'help') {
      const topic = command === 'help' ? rest[0] : undefined
      const entry = topic === undefined ? undefined : commands[topic]
      io.stdout.write(formatHelp(entry === undefined ? undefined : await entry.load()))
      if (command === undefined && !own.includes('--help') && !own.includes('-h')) return 2
      return 0
    }
    const entry = commands[command]
    if (entry === undefined) {
      throw new UsageError(`unknown command "${command}"`, { hint: 'ssm-ssh help lists the commands' })
    }
    const cmd = await entry.load()
    // for ssh, -h and --help after its first non-option are ssh's (or the remote command's)
    const firstWord = own.findIndex((a) => !a.startsWith('-'))
    const helpArgs = command === 'ssh' && firstWord !== -1 ? own.slice(0, firstWord) : own
    if (helpArgs.includes('--help') || helpArgs.includes('-h')) {
      io.stdout.write(formatHelp(cmd))
      return 0
    }
    const level: LogLevel = global.debug
      ? 'debug'
      : global.verbose
        ? 'verbose'
        : global.quiet
          ? 'quiet'
          : 'normal'
    const logFile = global.logFile
      ? createWriteStream(global.logFile, { flags: 'a', mode: 0o600 })
      : undefined
    const sink = logFile ?? io.stderr
    const controller = new AbortController()
    // A second signal must not kill us half-way through ending the session; a third one does.
    let signalsSeen = 0
    const onSignal = () => {
      if (++signalsSeen >= 3) process.exit(130)
      controller.abort(new CliError('interrupted'))
    }
    // ssh ends its ProxyCommand with SIGHUP; Ctrl-C and kill with SIGINT/SIGTERM.
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
    for (const s of signals) process.on(s, onSignal)
    // The reader of our stdout or stderr went away (ssh exited): stop, as for SIGHUP, ending the
    // session on the service, instead of crashing on EPIPE.
    process.stdout.on('error', onSignal)
    process.stderr.on('error', onSignal)
    const ctx: Context = {
      io,
      // a log file is read later, and several ProxyCommands may append to one: each line says when and who
      log: logFile
        ? createLog(sink, level, 'ssm-ssh', () => `${new Date().toISOString()} [${process.pid}]`)
        : createLog(sink, level),
      env: process.env,
      signal: controller.signal,
      now: () => new Date(),
      global,
      paths: resolvePaths(process.env),
      executable: { node: process.execPath, script: entryScript() },
    }
    let options: unknown
    try {
      options = cmd.parse(rest)
    } catch (error) {
      throw usageErrorOf(error, command) ?? error
    }
    // --log-file lines are written asynchronously: flush them before we exit, whatever happens
    const code = await cmd
      .run(options, ctx)
      .finally(() => (logFile ? new Promise<void>((r) => logFile.end(r)) : undefined))
    for (const s of signals) process.off(s, onSignal)
    return code ?? 0
  } catch (error) {
    const stderr = terminalSafe(process.stderr)
    printError(error, debug, stderr)
    if (error instanceof UsageError && !(error.hint ?? '').includes('help')) {
      stderr.write('  (ssm-ssh help <command> shows its usage)\n')
    }
    return exitCodeOf(error)
  }
}

/** The path of our CLI as invoked (bin/ssm-ssh.mjs through npm's link), for ProxyCommand lines. */
function entryScript(): string {
  const invoked = process.argv[1]
  return invoked ? realpathSync(invoked) : fileURLToPath(import.meta.url)
}

// No top-level await: the bundle is CommonJS, run by src/boot/code-cache.ts.
void main(process.argv.slice(2)).then((code) => {
  // Let stdout drain (proxy's last SSH bytes, a JSON listing) before exiting.
  process.exitCode = code
  if (process.stdout.writableLength === 0) process.exit(code)
  else process.stdout.once('drain', () => process.exit(code))
})
