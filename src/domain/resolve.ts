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

/** Rules in order: id, exact Name, ComputerName (with or without domain), IP, tag:Key=Value. */
export function resolveTarget(query: string, instances: Instance[]): Resolution {
  const rules: Array<[string, (i: Instance) => boolean]> = [
    ['id', (i) => i.id === query],
    ['name', (i) => i.name === query],
    ['computer name', (i) => i.computerName === query || i.computerName.split('.')[0] === query],
    ['IP address', (i) => i.ipAddress === query],
  ]
  const tag = /^tag:([^=]+)=(.*)$/.exec(query)
  if (tag) rules.push([`tag ${tag[1]}`, (i) => i.tags[tag[1] as string] === tag[2]])
  for (const [rule, test] of rules) {
    const hits = instances.filter(test)
    if (hits.length === 1) return { kind: 'found', instance: hits[0] as Instance, rule }
    if (hits.length > 1) {
      const first = hits[0] as Instance
      const clones = hits.every((h) => h.computerName === first.computerName && h.name === first.name)
      return { kind: 'ambiguous', candidates: hits, rule, clones }
    }
  }
  return { kind: 'none' }
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
