// Name → instance, deterministically: a name that matches several instances is never silently
// resolved, and clones (a copied SD card keeps its ComputerName and Name) are called out.
import { TargetError } from '../support/errors.ts'
import { ago } from '../support/time.ts'
import type { Instance } from './instance.ts'

export const INSTANCE_ID = /^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$/

export type Resolution =
  | { kind: 'found'; instance: Instance; rule: string }
  | { kind: 'ambiguous'; candidates: Instance[]; rule: string; clones: boolean }
  | { kind: 'none' }

/**
 * Rules in order: id, exact Name, ComputerName (with or without domain), IP, tag:Key=Value. Name,
 * ComputerName and IP are one namespace to the person typing: a name that is also another
 * instance's IP (or host name) is ambiguous, not the first rule's.
 */
export function resolveTarget(query: string, instances: Instance[]): Resolution {
  const byId = instances.filter((i) => i.id === query)
  if (byId.length === 1) return { kind: 'found', instance: byId[0] as Instance, rule: 'id' }
  const rules: Array<[string, (i: Instance) => boolean]> = [
    ['name', (i) => i.name === query],
    ['computer name', (i) => i.computerName === query || i.computerName.split('.')[0] === query],
    ['IP address', (i) => i.ipAddress === query],
  ]
  const tag = /^tag:([^=]+)=(.*)$/.exec(query)
  if (tag) rules.push([`tag ${tag[1]}`, (i) => i.tags[tag[1] as string] === tag[2]])
  const hitsOf = rules.map(([rule, test]) => [rule, instances.filter(test)] as const)
  const first = hitsOf.find(([, hits]) => hits.length > 0)
  if (!first) return { kind: 'none' }
  const [rule, hits] = first
  if (hits.length > 1) {
    const one = hits[0] as Instance
    const clones = hits.every((h) => h.computerName === one.computerName && h.name === one.name)
    return { kind: 'ambiguous', candidates: hits, rule, clones }
  }
  const others = new Map<string, Instance>()
  for (const [otherRule, otherHits] of hitsOf.slice(0, 3))
    if (otherRule !== rule) for (const h of otherHits) if (h.id !== hits[0]?.id) others.set(h.id, h)
  if (others.size > 0)
    return {
      kind: 'ambiguous',
      candidates: [hits[0] as Instance, ...others.values()],
      rule: 'name, computer name or IP address',
      clones: false,
    }
  return { kind: 'found', instance: hits[0] as Instance, rule }
}

/** The one instance `query` names, online; otherwise a TargetError that lists what was found. */
export function requireTarget(query: string, instances: Instance[], now: Date): Instance {
  const r = resolveTarget(query, instances)
  if (r.kind === 'none') {
    throw new TargetError(`no managed instance named "${query}"`, {
      hint: 'ssm-ssh ls lists them; pass an i-/mi- id, a Name, a ComputerName, an IP or tag:Key=Value',
    })
  }
  if (r.kind === 'ambiguous') {
    const list = r.candidates
      .map((c) => `${c.id} (${c.pingStatus}, last seen ${ago(c.lastPing, now, 'never')})`)
      .join(', ')
    throw new TargetError(
      `"${query}" matches ${r.candidates.length} instances by ${r.rule}${r.clones ? ' — clones (same ComputerName and Name, e.g. a copied SD card)' : ''}: ${list}`,
      { hint: 'pass the instance id instead, or ssm-ssh pick to choose' },
    )
  }
  const i = r.instance
  if (i.pingStatus !== 'Online') {
    throw new TargetError(
      `${i.name || i.id} (${i.id}) is offline: ${i.pingStatus}, last ping ${ago(i.lastPing, now, 'never')}`,
      {
        hint: 'power it on or check its network and SSM agent',
      },
    )
  }
  return i
}
