// Everything people read goes to stderr (or --log-file) through one Log; stdout carries data only.
import { redact } from './redact.ts'
import { terminalSafe } from './terminal-text.ts'

export type LogLevel = 'quiet' | 'normal' | 'verbose' | 'debug'

const rank: Record<LogLevel, number> = { quiet: 0, normal: 1, verbose: 2, debug: 3 }

export interface Log {
  readonly level: LogLevel
  /** Always shown except with --quiet: warnings and results people must see. */
  warn(message: string): void
  /** Normal progress messages. */
  info(message: string): void
  /** -v: the steps taken. */
  verbose(message: string): void
  /** --debug: protocol summaries, request ids. */
  debug(message: string): void
  isEnabled(level: LogLevel): boolean
}

export interface LogSink {
  write(text: string): void
}

/**
 * `stamp` starts each line, e.g. the time and pid in a --log-file that several ProxyCommands of one
 * ssh config append to.
 */
export function createLog(sink: LogSink, level: LogLevel, prefix = 'ssm-ssh', stamp?: () => string): Log {
  const emit = (min: LogLevel, message: string) => {
    // messages carry names, tags and agent-reported fields: none of their bytes may drive the terminal
    if (rank[level] >= rank[min])
      sink.write(`${stamp ? `${stamp()} ` : ''}${prefix}: ${terminalSafe(redact(message))}\n`)
  }
  return {
    level,
    warn: (m) => emit('quiet', m),
    info: (m) => emit('normal', m),
    verbose: (m) => emit('verbose', m),
    debug: (m) => emit('debug', m),
    isEnabled: (l) => rank[level] >= rank[l],
  }
}

export const silentLog: Log = createLog({ write: () => {} }, 'quiet')
