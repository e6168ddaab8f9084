// ssm-ssh ls: the fleet as a table for people, or --json for scripts.
import { parseArgs } from 'node:util'
import type { Command } from '../cli/command.ts'
import { cloneIds, sharedIds } from '../domain/doctor/clones.ts'
import { applyFilters, type Filter, parseFilter } from '../domain/filter.ts'

export interface LsOptions {
  json: boolean
  refresh: boolean
  filters: Filter[]
}

export function parse(argv: string[]): LsOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      refresh: { type: 'boolean' },
      filter: { type: 'string', multiple: true },
    },
  })
  return {
    json: values.json ?? false,
    refresh: values.refresh ?? false,
    // a bare word is a text filter too: `ssm-ssh ls kitchen`
    filters: [...(values.filter ?? []), ...positionals].map(parseFilter),
  }
}

export const ls: Command<LsOptions> = {
  name: 'ls',
  summary: 'list the managed instances (name, id, status, platform, IP, agent, last seen)',
  usage: 'ssm-ssh ls [--json] [--refresh] [--filter status=Online|platform=TEXT|tag:K=V|TEXT]… [TEXT]',
  examples: ['ssm-ssh ls', 'ssm-ssh ls --filter status=ConnectionLost', 'ssm-ssh ls --json kitchen'],
  parse,
  async run(options, ctx) {
    const { clientsFor, fleetSourceFor } = await import('./aws-context.ts')
    const { getFleet } = await import('../aws/fleet.ts')
    const clients = clientsFor(ctx)
    const fleet = await getFleet(fleetSourceFor(ctx, clients), options.refresh ? 0 : undefined)
    const shown = applyFilters(fleet.instances, options.filters)
    // both kinds of cloned SD card: re-activated copies (one name, two ids) and copies sharing an id
    const copies = cloneIds(fleet.instances)
    const shared = sharedIds(fleet.sightings)
    if (options.json) {
      const rows = shown.map((i) => ({
        ...i,
        lastPing: i.lastPing?.toISOString() ?? null,
        clone: copies.has(i.id) || shared.has(i.id),
        ...(shared.has(i.id) ? { sharedId: true } : {}),
      }))
      ctx.io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
      return 0
    }
    const { formatInstanceTable } = await import('../ui/instance-table.ts')
    const { colors } = await import('../ui/color.ts')
    ctx.io.stdout.write(
      formatInstanceTable(
        shown,
        ctx.now(),
        colors(ctx.io.isStdoutTTY && !ctx.env.NO_COLOR),
        new Set([...copies, ...shared]),
      ),
    )
    const { safeLabel } = await import('../support/terminal-text.ts')
    for (const i of shown.filter((i) => shared.has(i.id)))
      ctx.log.warn(
        `warning: ${i.id} (${safeLabel(i.name)}) reports from two machines in turn (its ComputerName/IP alternate): a cloned SD card; run ssm-ssh reactivate ${i.id} on every copy but one`,
      )
    if (shown.some((i) => copies.has(i.id)))
      ctx.log.warn(
        'warning: instances marked (clone) share a name and ComputerName with another id: copies of one SD card; ssm-ssh doctor ID says more',
      )
    if (!ctx.global.quiet)
      ctx.log.info(
        `${shown.length} of ${fleet.instances.length} instances${fleet.fromCache ? ` (cached ${Math.round((ctx.now().getTime() - fleet.savedAt.getTime()) / 1000)}s ago; --refresh lists anew)` : ''}`,
      )
    return 0
  },
}
