// Cloned SD cards of an activated Pi (seed 002), both kinds: copies re-activated under new ids keep
// the ComputerName (two ids, one machine name), and copies never re-activated share one mi- id, which
// then reports the IP address and ComputerName of whichever copy pinged last, and answers Run Command
// from whichever holds the control channel: one id served by two machines. Only re-activating every
// copy but one separates them.
import type { Instance } from '../instance.ts'
import { type Finding, fail, ok, warn } from './finding.ts'

/** One sighting of an id: the ComputerName and IP address it reported. */
export interface Sighting {
  computerName: string
  ipAddress: string
}

/** How many sightings per id the inventory cache keeps. */
export const SIGHTINGS_KEPT = 8

export const reactivateFix = (target: string) =>
  `ssm-ssh reactivate ${target} on every copy but one (a cloned SD card keeps the registration)`

/** Ids sharing ComputerName and name with another id: copies of one card, re-activated. */
export function cloneIds(instances: Instance[]): Set<string> {
  const groups = new Map<string, string[]>()
  for (const i of instances) {
    if (!i.computerName) continue
    const key = `${i.name}\u0000${i.computerName}`
    groups.set(key, [...(groups.get(key) ?? []), i.id])
  }
  return new Set([...groups.values()].filter((ids) => ids.length > 1).flat())
}

const key = (s: Sighting) => `${s.computerName}\u0000${s.ipAddress}`

/** The sightings with the new one appended when it differs from the last; the last SIGHTINGS_KEPT. */
export function addSighting(history: Sighting[], seen: Sighting): Sighting[] {
  const last = history.at(-1)
  const next = last && key(last) === key(seen) ? history : [...history, seen]
  return next.slice(-SIGHTINGS_KEPT)
}

/**
 * One id seen as A, then B, then A again: two machines take turns (a rename or a new DHCP lease
 * changes it once, and stays).
 */
export function alternates(history: Sighting[]): boolean {
  const keys = history.map(key)
  return keys.some((k, n) => n >= 2 && keys.slice(0, n - 1).includes(k) && keys[n - 1] !== k)
}

/** Ids whose sightings alternate. */
export function sharedIds(sightings: Map<string, Sighting[]>): Set<string> {
  return new Set([...sightings].filter(([, h]) => alternates(h)).map(([id]) => id))
}

const shortName = (name: string) => name.split('.')[0]?.toLowerCase() ?? ''

/**
 * The clone findings for one target: another id with its machine name, its sightings alternating,
 * or the machine that answered Run Command not the one that last reported to the service.
 */
export function cloneFindings(
  instance: Instance,
  fleet: Instance[],
  history: Sighting[],
  answered?: { hostname: string; addresses: string[] },
): Finding[] {
  const t = instance.id
  const name = instance.name || t
  const out: Finding[] = []
  const twins = fleet.filter((i) => i.id !== t && i.computerName !== '' && cloneIds([instance, i]).has(i.id))
  if (twins.length > 0)
    out.push(
      warn(
        'clone',
        `${twins.map((i) => i.id).join(', ')} ${twins.length === 1 ? 'has' : 'have'} the same name and ComputerName (${instance.computerName}): copies of one SD card, re-activated`,
        'keep the one you use; ssm-ssh reactivate gives each copy a name of its own',
        t,
      ),
    )
  if (alternates(history)) {
    const seen = [...new Set(history.map((s) => `${s.computerName} ${s.ipAddress}`))].join(' / ')
    out.push(
      fail(
        'clone',
        `the id reports from more than one machine in turn (${seen}): a cloned SD card`,
        reactivateFix(name),
        t,
      ),
    )
  }
  if (answered && answered.hostname !== '' && instance.computerName !== '') {
    const otherName = shortName(answered.hostname) !== shortName(instance.computerName)
    const otherIp = instance.ipAddress !== '' && !answered.addresses.includes(instance.ipAddress)
    if (otherName || otherIp) {
      const why = `the machine answering as ${t} is ${answered.hostname} (${answered.addresses.filter((a) => !a.startsWith('127.')).join(', ') || 'no LAN address'}), but the service last heard ${instance.computerName} (${instance.ipAddress || '?'})`
      out.push(
        otherName && otherIp
          ? fail('clone', `${why}: two machines share this id (a cloned SD card)`, reactivateFix(name), t)
          : warn(
              'clone',
              `${why}: a clone, or a change the agent has not reported yet`,
              reactivateFix(name),
              t,
            ),
      )
    }
  }
  if (out.length === 0)
    out.push(
      ok(
        'clone',
        answered
          ? 'one machine answers as this id'
          : 'no other id has its name; its sightings do not alternate',
        t,
      ),
    )
  return out
}

/** Our pinned host keys (type → fingerprint) against what the host has now. */
export function hostKeyFindings(
  target: string,
  name: string,
  pinned: Map<string, string>,
  current: Map<string, string>,
  knownHostsFile: string,
): Finding[] {
  if (pinned.size === 0) return [ok('host key', 'no key pinned yet (push-key pins it)', target)]
  const changed = [...pinned].filter(([type, fp]) => current.has(type) && current.get(type) !== fp)
  if (changed.length === 0) return [ok('host key', 'the host keys match the pinned ones', target)]
  return [
    fail(
      'host key',
      `the ${changed.map(([type]) => type).join(', ')} host key differs from the one pinned: another machine answers as ${target} (a clone), or the host was reinstalled`,
      `${reactivateFix(name)}; if reinstalled: ssh-keygen -R ${target} -f ${knownHostsFile}`,
      target,
    ),
  ]
}
