// The inventory on disk (XDG cache, one file per profile+region, 0600, written atomically), so
// the picker opens at once and name resolution in proxy costs no listing.
import { constants } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { addSighting, type Sighting } from '../domain/doctor/clones.ts'
import type { Instance } from '../domain/instance.ts'
import { INSTANCE_ID } from '../domain/resolve.ts'
import { writeFileAtomic } from '../support/atomic-file.ts'

export const CACHE_TTL_MS = 5 * 60_000

interface CacheFile {
  version: 1
  savedAt: string
  instances: Array<Omit<Instance, 'lastPing'> & { lastPing?: string }>
  /** per id, the ComputerName/IP pairs it reported, oldest first: a cloned id alternates (clones.ts) */
  sightings?: Record<string, Sighting[]>
}

export function cachePath(cacheDir: string, profile: string, region: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_')
  return join(cacheDir, `inventory-${safe(profile)}-${safe(region)}.json`)
}

/**
 * The cached inventory, if it can be trusted: a regular file (no symlink followed), ours, writable by
 * us alone, in a directory likewise; every instance id well-formed. Anything else is no cache (the
 * fleet is listed afresh): ids from the cache reach ssh's argv, where one starting with "-" was an
 * option (`-F evil.conf`, whose Match exec then ran as the user).
 */
export async function readInventoryCache(
  path: string,
): Promise<{ instances: Instance[]; savedAt: Date; sightings: Map<string, Sighting[]> } | undefined> {
  try {
    if (!trusted(await stat(dirname(path)))) return undefined
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW)
    let text: string
    try {
      const st = await handle.stat()
      if (!st.isFile() || !trusted(st)) return undefined
      text = await handle.readFile('utf8')
    } finally {
      await handle.close()
    }
    const file = JSON.parse(text) as CacheFile
    if (file.version !== 1 || !Array.isArray(file.instances)) return undefined
    if (!file.instances.every(wellFormed)) return undefined
    return {
      sightings: sightingsOf(file.sightings),
      savedAt: new Date(file.savedAt),
      instances: file.instances.map(
        (i) => ({ ...i, ...(i.lastPing ? { lastPing: new Date(i.lastPing) } : {}) }) as Instance,
      ),
    }
  } catch {
    return undefined
  }
}

/** Owned by this user (or root reading its own) and not writable by group or others. */
function trusted(st: { uid: number; mode: number }): boolean {
  const uid = process.getuid?.() ?? st.uid
  return st.uid === uid && (st.mode & 0o022) === 0
}

function wellFormed(i: unknown): boolean {
  const x = i as Record<string, unknown>
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.id === 'string' &&
    INSTANCE_ID.test(x.id) &&
    ['name', 'computerName', 'ipAddress', 'pingStatus', 'platform', 'agentVersion', 'resourceType'].every(
      (k) => x[k] === undefined || typeof x[k] === 'string',
    ) &&
    (x.tags === undefined || (typeof x.tags === 'object' && x.tags !== null))
  )
}

function sightingsOf(raw: unknown): Map<string, Sighting[]> {
  const out = new Map<string, Sighting[]>()
  if (typeof raw !== 'object' || raw === null) return out
  for (const [id, list] of Object.entries(raw)) {
    if (!INSTANCE_ID.test(id) || !Array.isArray(list)) continue
    const good = list.filter(
      (s): s is Sighting =>
        typeof s === 'object' &&
        s !== null &&
        typeof s.computerName === 'string' &&
        typeof s.ipAddress === 'string',
    )
    out.set(
      id,
      good.map((s) => ({ computerName: s.computerName, ipAddress: s.ipAddress })),
    )
  }
  return out
}

/**
 * Writes the listing and adds what each id reported to its sightings (kept from the file before);
 * resolves with the sightings.
 */
export async function writeInventoryCache(
  path: string,
  instances: Instance[],
  now: Date,
): Promise<Map<string, Sighting[]>> {
  const sightings = (await readInventoryCache(path))?.sightings ?? new Map<string, Sighting[]>()
  for (const i of instances) {
    if (!i.computerName && !i.ipAddress) continue
    const seen = { computerName: i.computerName, ipAddress: i.ipAddress }
    sightings.set(i.id, addSighting(sightings.get(i.id) ?? [], seen))
  }
  const file: CacheFile = {
    version: 1,
    savedAt: now.toISOString(),
    sightings: Object.fromEntries(sightings),
    instances: instances.map(({ lastPing, ...rest }) => ({
      ...rest,
      ...(lastPing ? { lastPing: lastPing.toISOString() } : {}),
    })),
  }
  await writeFileAtomic(path, JSON.stringify(file), { mode: 0o600 })
  return sightings
}
