// Flags every command accepts, taken out of argv before the command parses the rest.
import { UsageError } from '../support/errors.ts'
import type { GlobalOptions } from './command.ts'

const valueFlags: Record<string, keyof GlobalOptions> = {
  '--profile': 'profile',
  '--region': 'region',
  '--endpoint-url': 'endpoint',
  '--log-file': 'logFile',
}
const boolFlags: Record<string, 'debug' | 'verbose' | 'quiet'> = {
  '--debug': 'debug',
  '--verbose': 'verbose',
  '-v': 'verbose',
  '--quiet': 'quiet',
  '-q': 'quiet',
}

export interface SplitArgv {
  global: GlobalOptions
  command: string | undefined
  rest: string[]
}

/** Commands whose arguments after their own first one belong to another program (ssh's options). */
const PASS_THROUGH = new Set(['ssh'])

/**
 * Global flags may stand before or after the command name; everything after `--` is left alone,
 * so `ssm-ssh ssh host -- -v` passes `-v` to ssh. For `ssh`, global flags end at the first argument
 * that is not one: `ssm-ssh ssh -l pi host -v` hands `-l pi host -v` to ssh, as typed.
 */
export function splitArgv(argv: string[], env: NodeJS.ProcessEnv): SplitArgv {
  const global: GlobalOptions = { debug: false, verbose: false, quiet: false }
  let command: string | undefined
  const rest: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') {
      rest.push(...argv.slice(i))
      break
    }
    const passThrough = command !== undefined && PASS_THROUGH.has(command)
    const eq = arg.indexOf('=')
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    const valueKey = valueFlags[name]
    if (valueKey !== undefined) {
      const value = eq > 0 && name !== arg ? arg.slice(eq + 1) : argv[++i]
      if (value === undefined || value === '')
        throw new UsageError(`${name} needs a value`, { hint: `e.g. ${name}=…` })
      ;(global as unknown as Record<string, unknown>)[valueKey] = value
      continue
    }
    const boolKey = boolFlags[arg]
    if (boolKey !== undefined) {
      global[boolKey] = true
      continue
    }
    if (passThrough) {
      rest.push(...argv.slice(i))
      break
    }
    if (command === undefined && !arg.startsWith('-')) command = arg
    else rest.push(arg)
  }
  if (env.SSM_SSH_DEBUG === '1' || env.SSM_SSH_DEBUG === 'true') global.debug = true
  return { global, command, rest }
}

/** Our own arguments: those before a `--` (what follows is another program's, `-h` included). */
export function ownArgs(rest: string[]): string[] {
  const end = rest.indexOf('--')
  return end === -1 ? rest : rest.slice(0, end)
}

/**
 * util.parseArgs' errors (an unknown option, an option without its value) as the one-line usage
 * error they are: the first sentence of its message, exit 2.
 */
export function usageErrorOf(error: unknown, command: string): UsageError | undefined {
  const e = error as NodeJS.ErrnoException
  if (typeof e?.code !== 'string' || !e.code.startsWith('ERR_PARSE_ARGS')) return undefined
  return new UsageError(e.message.split(/\.\s/)[0] ?? e.message, {
    hint: `ssm-ssh help ${command} lists its options`,
    cause: error,
  })
}
