// ssm-ssh run TARGETS… -- COMMAND…: one command on many hosts, through Run Command (default) or over
// parallel ssh sessions through our ProxyCommand (--via ssh). Results stream as hosts finish.
import { parseArgs } from 'node:util'
import type { Command } from '../cli/command.ts'
import { type Filter, parseFilter } from '../domain/filter.ts'
import { parseDuration } from '../domain/run/duration.ts'
import { MAX_CONCURRENCY, MAX_ERRORS } from '../domain/run/limits.ts'
import { RECIPES, recipeNames } from '../domain/run/recipes.ts'
import { UsageError } from '../support/errors.ts'

export interface RunOptions {
  targets: string[]
  filters: Filter[]
  pick: boolean
  /** the command words after --, joined with spaces as ssh joins them; a recipe's script once run() loaded it */
  command: string
  /** --recipe NAME: a script from templates/recipes/ instead of command words (Run Command only) */
  recipe?: string
  via: 'run-command' | 'ssh'
  document?: string
  /** executionTimeout (Run Command) or how long an ssh may take, in seconds */
  timeoutSeconds: number
  /** SendCommand TimeoutSeconds: how long the service waits for an agent to take the command */
  deliveryTimeoutSeconds: number
  maxConcurrency: string
  maxErrors: string
  comment?: string
  workingDir?: string
  json: boolean
  refresh: boolean
  outputS3Bucket?: string
  outputS3Prefix?: string
  cloudWatch: boolean
  cloudWatchGroup?: string
  parallel: number
  user?: string
  identity?: string
  sshOptions: string[]
}

const usage = [
  'ssm-ssh run TARGET… [--filter EXPR]… [--pick] [--json] [--refresh] -- COMMAND…',
  `ssm-ssh run TARGET… --recipe NAME [flags as above]    recipes: ${recipeNames().join(', ')} (as root, idempotent)`,
  '  TARGET: an i-/mi- id, a Name, a ComputerName, an IP or tag:K=V; --filter as in ls',
  '  Run Command (default): [--document NAME] [--timeout 10m] [--delivery-timeout 5m]',
  '    [--max-concurrency 50|N%] [--max-errors 100%|N] [--comment TEXT] [--working-dir DIR]',
  '    [--output-s3-bucket B [--output-s3-prefix P]] [--cloudwatch-output [--cloudwatch-group G]]',
  '  over ssh: --via ssh [--parallel 10] [-l USER] [-i KEY] [-o OPTION]… [--timeout 10m] [--working-dir DIR]',
  '  exit: 0 all succeeded; one host: its exit code; 1 failed somewhere; 4 some not reached; 130 Ctrl-C',
].join('\n')

function oneOf(value: string | undefined, re: RegExp, flag: string, example: string): string | undefined {
  if (value !== undefined && (value.length > 7 || !re.test(value)))
    throw new UsageError(`${flag} ${value} is not a count or a percentage`, {
      hint: `e.g. ${flag} ${example}`,
    })
  return value
}

/** node:util's parseArgs, its errors (an unknown flag, a missing value) as a UsageError. */
function parseRunArgs(args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        filter: { type: 'string', multiple: true },
        pick: { type: 'boolean' },
        json: { type: 'boolean' },
        refresh: { type: 'boolean' },
        recipe: { type: 'string' },
        document: { type: 'string' },
        timeout: { type: 'string' },
        'delivery-timeout': { type: 'string' },
        'max-concurrency': { type: 'string' },
        'max-errors': { type: 'string' },
        comment: { type: 'string' },
        'working-dir': { type: 'string' },
        'output-s3-bucket': { type: 'string' },
        'output-s3-prefix': { type: 'string' },
        'cloudwatch-output': { type: 'boolean' },
        'cloudwatch-group': { type: 'string' },
        via: { type: 'string' },
        parallel: { type: 'string' },
        user: { type: 'string', short: 'l' },
        identity: { type: 'string', short: 'i' },
        option: { type: 'string', short: 'o', multiple: true },
      },
    })
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: 'ssm-ssh help run', cause: error })
  }
}

export function parse(argv: string[]): RunOptions {
  const dashes = argv.indexOf('--')
  const words = dashes >= 0 ? argv.slice(dashes + 1) : []
  const { values, positionals } = parseRunArgs(dashes >= 0 ? argv.slice(0, dashes) : argv)
  const command = words.join(' ')
  const recipe = values.recipe
  if (recipe !== undefined) {
    if (dashes >= 0)
      throw new UsageError('--recipe and -- COMMAND cannot be used together: a recipe is the command', {
        hint: 'drop one of them',
      })
    if (!Object.hasOwn(RECIPES, recipe))
      throw new UsageError(`there is no recipe ${recipe}`, { hint: `recipes: ${recipeNames().join(', ')}` })
    if (values.via === 'ssh')
      throw new UsageError('--recipe runs as root through Run Command; --via ssh cannot carry it', {
        hint: 'drop --via ssh',
      })
    if (values.document !== undefined)
      throw new UsageError('--recipe runs with AWS-RunShellScript; --document cannot change that', {
        hint: 'drop --document',
      })
  } else if (command.trim() === '')
    throw new UsageError('run needs a command after --', { hint: "ssm-ssh run tag:site=home -- 'uname -n'" })
  const filters = (values.filter ?? []).map(parseFilter)
  if (positionals.length === 0 && filters.length === 0 && !values.pick)
    throw new UsageError('run needs targets: ids, names, tag:K=V, --filter or --pick', {
      hint: "ssm-ssh run tag:site=home -- 'uname -n'",
    })
  const via = values.via ?? 'run-command'
  if (via !== 'run-command' && via !== 'ssh')
    throw new UsageError(`--via ${via} is not run-command or ssh`, { hint: 'e.g. --via ssh' })
  const sshOnly = (['parallel', 'user', 'identity', 'option'] as const).filter((f) => values[f] !== undefined)
  if (via !== 'ssh' && sshOnly.length > 0)
    throw new UsageError(`--${sshOnly[0]} needs --via ssh`, { hint: 'add --via ssh, or drop the flag' })
  const runCommandOnly = (
    [
      'document',
      'max-concurrency',
      'max-errors',
      'comment',
      'delivery-timeout',
      'output-s3-bucket',
      'output-s3-prefix',
      'cloudwatch-output',
      'cloudwatch-group',
    ] as const
  ).filter((f) => values[f] !== undefined)
  if (via === 'ssh' && runCommandOnly.length > 0)
    throw new UsageError(`--${runCommandOnly[0]} is a Run Command setting; --via ssh has none`, {
      hint: 'drop it, or drop --via ssh',
    })
  if (values.comment !== undefined && values.comment.length > 100)
    throw new UsageError('--comment is longer than Run Command keeps (100 characters)', {
      hint: 'shorten it',
    })
  if (values['cloudwatch-group'] !== undefined && !values['cloudwatch-output'])
    throw new UsageError('--cloudwatch-group needs --cloudwatch-output', { hint: 'add --cloudwatch-output' })
  const parallel = Number(values.parallel ?? '10')
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 500)
    throw new UsageError(`--parallel ${values.parallel} is not a number from 1 to 500`, {
      hint: 'e.g. --parallel 20',
    })
  if (values.user !== undefined && !/^[a-z_][a-z0-9_.-]{0,31}$/i.test(values.user))
    throw new UsageError(`--user ${values.user} is not a valid login name`, { hint: 'e.g. --user pi' })
  // the agent ignores an executionTimeout under 5 s and runs the script for up to an hour instead
  const timeoutSeconds = parseDuration(values.timeout ?? '10m', '--timeout', 5, 172_800)
  const deliveryTimeoutSeconds = parseDuration(
    values['delivery-timeout'] ?? '5m',
    '--delivery-timeout',
    30,
    2_592_000,
  )
  return {
    targets: positionals,
    filters,
    pick: values.pick ?? false,
    command,
    ...(recipe !== undefined ? { recipe } : {}),
    via,
    ...(values.document ? { document: values.document } : {}),
    timeoutSeconds,
    deliveryTimeoutSeconds,
    maxConcurrency: oneOf(values['max-concurrency'], MAX_CONCURRENCY, '--max-concurrency', '10%') ?? '50',
    maxErrors: oneOf(values['max-errors'], MAX_ERRORS, '--max-errors', '5') ?? '100%',
    ...(values.comment !== undefined ? { comment: values.comment } : {}),
    ...(values['working-dir'] ? { workingDir: values['working-dir'] } : {}),
    json: values.json ?? false,
    refresh: values.refresh ?? false,
    ...(values['output-s3-bucket'] ? { outputS3Bucket: values['output-s3-bucket'] } : {}),
    ...(values['output-s3-prefix'] ? { outputS3Prefix: values['output-s3-prefix'] } : {}),
    cloudWatch: values['cloudwatch-output'] ?? false,
    ...(values['cloudwatch-group'] ? { cloudWatchGroup: values['cloudwatch-group'] } : {}),
    parallel,
    ...(values.user ? { user: values.user } : {}),
    ...(values.identity ? { identity: values.identity } : {}),
    sshOptions: values.option ?? [],
  }
}

export const run: Command<RunOptions> = {
  name: 'run',
  summary: 'run one command on many instances (Run Command, or ssh with --via ssh)',
  usage,
  examples: [
    "ssm-ssh run tag:site=home -- 'uname -n'",
    'ssm-ssh run --filter platform=raspbian --max-concurrency 10% --max-errors 2 -- sudo apt-get -y upgrade',
    "ssm-ssh run pi-kitchen pi-garage --json -- 'df -h /' | jq .stdout",
    'ssm-ssh run --pick --via ssh -l pi -- uptime',
    'ssm-ssh run tag:site=home --recipe cloudwatch-agent',
  ],
  parse,
  async run(options, ctx) {
    const { runOnTargets } = await import('./run/run-on-targets.ts')
    if (options.recipe === undefined) return runOnTargets(options, ctx)
    const { recipeScript } = await import('./run/recipe-script.ts')
    return runOnTargets({ ...options, command: await recipeScript(options.recipe) }, ctx)
  },
}
