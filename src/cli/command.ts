// The shape every command file exports, and the Context its run() receives.
import type { Io } from '../support/io.ts'
import type { Log } from '../support/log.ts'
import type { Paths } from '../support/paths.ts'

export interface GlobalOptions {
  profile?: string
  region?: string
  endpoint?: string
  debug: boolean
  verbose: boolean
  quiet: boolean
  logFile?: string
}

export interface Context {
  io: Io
  log: Log
  env: NodeJS.ProcessEnv
  signal: AbortSignal
  now(): Date
  global: GlobalOptions
  paths: Paths
  /** Absolute path of the running CLI entry (bin/ssm-ssh.mjs or dist bundle), for ProxyCommand lines. */
  executable: { node: string; script: string }
}

export interface Command<Options> {
  name: string
  summary: string
  usage: string
  examples?: string[]
  /** Pure: argv (after the command name, global flags removed) → options; throws UsageError. */
  parse(argv: string[]): Options
  run(options: Options, ctx: Context): Promise<number | undefined>
}

// biome-ignore lint/suspicious/noExplicitAny: the table holds commands of every option type
export type AnyCommand = Command<any>
