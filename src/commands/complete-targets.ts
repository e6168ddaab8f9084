// ssm-ssh __complete-targets PREFIX: the names and ids of the cached fleet that start with PREFIX, one
// a line, for the shell completion. The cache only (any age), never an API call; nothing when there is
// no cache. Only plain words (letters, digits, . _ - @ :) are offered: names come from the cloud.
import type { Command } from '../cli/command.ts'

const PLAIN = /^[A-Za-z0-9._@:-]{1,128}$/

export const completeTargets: Command<{ prefix: string }> = {
  name: '__complete-targets',
  summary: '(for the shell completion) cached instance names that start with a prefix',
  usage: 'ssm-ssh __complete-targets PREFIX',
  parse: (argv) => ({ prefix: argv[0] ?? '' }),
  async run(options, ctx) {
    const { cachedFleet } = await import('../aws/fleet.ts')
    const { clientsFor, fleetSourceFor } = await import('./aws-context.ts')
    const instances = (await cachedFleet(fleetSourceFor(ctx, clientsFor(ctx)))) ?? []
    const at = options.prefix.lastIndexOf('@')
    const user = at >= 0 ? options.prefix.slice(0, at + 1) : ''
    const wanted = options.prefix.slice(user.length)
    const words = new Set<string>()
    for (const i of instances)
      for (const w of [i.name, i.id]) if (w && PLAIN.test(w) && w.startsWith(wanted)) words.add(`${user}${w}`)
    if (words.size > 0) ctx.io.stdout.write(`${[...words].sort().join('\n')}\n`)
    return 0
  },
}
