// ssm-ssh pick: the fleet in a fuzzy picker; Enter connects with the real ssh, --print prints the id.
import { parseArgs } from 'node:util'
import type { Command } from '../cli/command.ts'
import { UsageError } from '../support/errors.ts'
import { ago } from '../support/time.ts'
import { globalProxyArgs } from './aws-context.ts'

export interface PickOptions {
  print: boolean
  refresh: boolean
  user?: string
  identity?: string
  sshOptions: string[]
  query: string
}

export function parse(argv: string[]): PickOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      print: { type: 'boolean' },
      refresh: { type: 'boolean' },
      user: { type: 'string', short: 'l' },
      identity: { type: 'string', short: 'i' },
      option: { type: 'string', short: 'o', multiple: true },
    },
  })
  if (values.user !== undefined && !/^[a-z_][a-z0-9_.-]{0,31}$/i.test(values.user)) {
    throw new UsageError(`--user ${values.user} is not a valid login name`, { hint: 'e.g. --user pi' })
  }
  return {
    print: values.print ?? false,
    refresh: values.refresh ?? false,
    ...(values.user ? { user: values.user } : {}),
    ...(values.identity ? { identity: values.identity } : {}),
    sshOptions: values.option ?? [],
    query: positionals.join(' '),
  }
}

export const pick: Command<PickOptions> = {
  name: 'pick',
  summary: 'fuzzy-pick an instance and ssh to it',
  usage: 'ssm-ssh pick [QUERY] [--print] [-l/--user NAME] [-i IDENTITY] [-o SSH_OPTION]… [--refresh]',
  examples: ['ssm-ssh pick', 'ssm-ssh pick kitchen --user pi', 'ssh "$(ssm-ssh pick --print)"'],
  parse,
  async run(options, ctx) {
    if (!ctx.io.canPrompt) {
      throw new UsageError('ssm-ssh pick needs a terminal', {
        hint: 'pass an id to ssm-ssh proxy/ssh, or list with ssm-ssh ls --json',
      })
    }
    const { clientsFor, fleetSourceFor } = await import('./aws-context.ts')
    const { getFleet } = await import('../aws/fleet.ts')
    const { pickInstance } = await import('../ui/picker.ts')
    const { colors } = await import('../ui/color.ts')
    const clients = clientsFor(ctx)
    const source = fleetSourceFor(ctx, clients)
    // Open from the cache at once; a stale cache is refreshed in the background for next time.
    const fleet = await getFleet(source, options.refresh ? 0 : Number.POSITIVE_INFINITY, 'background')
    if (fleet.fromCache && ctx.now().getTime() - fleet.savedAt.getTime() > 60_000) {
      getFleet(source, 0).catch((e: Error) => ctx.log.verbose(`background refresh failed: ${e.message}`))
    }
    const rows = Math.max(5, (Number(process.stderr.rows) || 24) - 5)
    const choice = await pickInstance(
      {
        instances: fleet.instances,
        now: ctx.now(),
        colors: colors(ctx.io.color),
        pageSize: Math.min(rows, 20),
        initialQuery: options.query,
      },
      { input: ctx.io.stdin, output: ctx.io.stderr, signal: ctx.signal },
    )
    if (options.print) {
      ctx.io.stdout.write(`${choice.id}\n`)
      return 0
    }
    if (choice.pingStatus !== 'Online')
      ctx.log.warn(
        `${choice.name || choice.id} was last seen ${ago(choice.lastPing, ctx.now(), 'never')} (${choice.pingStatus}); trying anyway`,
      )
    const { runSsh } = await import('../ssh/run-ssh.ts')
    return runSsh(
      ctx.executable,
      choice.id,
      [
        ...options.sshOptions.flatMap((o) => ['-o', o]),
        ...(options.identity ? ['-i', options.identity] : []),
        ...(options.user ? ['-l', options.user] : []),
      ],
      globalProxyArgs(ctx),
    )
  },
}
