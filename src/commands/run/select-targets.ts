// run's TARGETS → instances, resolved as everywhere else (ids, Name, ComputerName, IP, tag:K=V) plus
// ls's --filter expressions and the picker (--pick). A name that matches several is never guessed.

import type { AwsClients } from '../../aws/clients.ts'
import type { Context } from '../../cli/command.ts'
import { applyFilters, type Filter } from '../../domain/filter.ts'
import { type Instance, instanceById } from '../../domain/instance.ts'
import { INSTANCE_ID, resolveTarget } from '../../domain/resolve.ts'
import { TargetError, UsageError } from '../../support/errors.ts'
import { fleetSourceFor } from '../aws-context.ts'

export interface Selection {
  instances: Instance[]
  /** the whole selection is this one tag (run sends it as Targets) */
  tag?: { key: string; value: string }
  /** the fleet as listed, for names of hosts a tag reaches */
  fleet: Instance[]
}

const TAG = /^tag:([^=]+)=(.*)$/

function resolveOne(target: string, fleet: Instance[]): Instance[] {
  const tag = TAG.exec(target)
  if (tag) {
    const hits = fleet.filter((i) => i.tags[tag[1] as string] === tag[2])
    if (hits.length === 0)
      throw new TargetError(`no managed instance has the tag ${target.slice(4)}`, {
        hint: 'ssm-ssh ls --filter tag:K=V shows what a tag selects (--refresh lists anew)',
      })
    return hits
  }
  const r = resolveTarget(target, fleet)
  if (r.kind === 'found') return [r.instance]
  if (INSTANCE_ID.test(target)) return [instanceById(target)]
  if (r.kind === 'ambiguous')
    throw new TargetError(
      `"${target}" matches ${r.candidates.length} instances by ${r.rule}${r.clones ? ' (clones)' : ''}: ${r.candidates.map((c) => c.id).join(', ')}`,
      { hint: 'pass the ids you mean, or --pick' },
    )
  throw new TargetError(`no managed instance named "${target}"`, {
    hint: 'ssm-ssh ls lists them; pass an i-/mi- id, a Name, a ComputerName, an IP or tag:Key=Value',
  })
}

export async function selectTargets(
  options: { targets: string[]; filters: Filter[]; pick: boolean; refresh: boolean },
  ctx: Context,
  clients: AwsClients,
): Promise<Selection> {
  const { getFleet } = await import('../../aws/fleet.ts')
  const fleet = (await getFleet(fleetSourceFor(ctx, clients), options.refresh ? 0 : undefined)).instances
  const chosen = new Map<string, Instance>()
  for (const t of options.targets) for (const i of resolveOne(t, fleet)) chosen.set(i.id, i)
  let instances = options.targets.length > 0 ? [...chosen.values()] : fleet
  if (options.filters.length > 0) instances = applyFilters(instances, options.filters)
  if (options.pick) {
    if (!ctx.io.canPrompt)
      throw new UsageError('--pick needs a terminal', { hint: 'name the targets, or use --filter' })
    const { pickInstances } = await import('../../ui/multi-picker.ts')
    const { colors } = await import('../../ui/color.ts')
    instances = await pickInstances(
      { instances, now: ctx.now(), colors: colors(ctx.io.color), pageSize: 15 },
      { input: ctx.io.stdin, output: ctx.io.stderr, signal: ctx.signal },
    )
  }
  if (instances.length === 0)
    throw new TargetError('no managed instance matches the targets and filters', {
      hint: 'ssm-ssh ls --filter … shows what they select',
    })
  const only =
    options.targets.length === 1 && options.filters.length === 0 && !options.pick
      ? TAG.exec(options.targets[0] as string)
      : null
  return {
    instances,
    ...(only ? { tag: { key: only[1] as string, value: only[2] as string } } : {}),
    fleet,
  }
}
