// One way for every command to get the fleet: the cache when fresh enough, else a listing that
// refreshes the cache. Keyed by profile, region and endpoint, so a sandbox never mixes with AWS.
import type { Sighting } from '../domain/doctor/clones.ts'
import type { Instance } from '../domain/instance.ts'
import type { Log } from '../support/log.ts'
import type { AwsClients } from './clients.ts'
import { loadInventory } from './inventory.ts'
import { CACHE_TTL_MS, cachePath, readInventoryCache, writeInventoryCache } from './inventory-cache.ts'

export interface FleetSource {
  clients: AwsClients
  cacheDir: string
  profile: string
  now: () => Date
  log: Log
}

export interface Fleet {
  instances: Instance[]
  fromCache: boolean
  savedAt: Date
  /** per id, the ComputerName/IP pairs listings saw it report (inventory-cache.ts) */
  sightings: Map<string, Sighting[]>
}

async function pathFor(src: FleetSource): Promise<string> {
  const region = await src.clients.region()
  const endpoint = await src.clients.endpoint()
  const scope = endpoint ? `${src.profile}@${new URL(endpoint).host}` : src.profile
  return cachePath(src.cacheDir, scope, region)
}

/**
 * `maxAgeMs`: Infinity takes any cached copy (proxy), 0 always lists (--refresh).
 * `tags: 'background'` (the picker) returns with the listing alone — its Name is the EC2 Name tag,
 * enough to pick by — and fetches EC2 tags and the SSM tags of mi- nodes (one call each: ~28 s for
 * 8,000 nodes at 100 ms) into the cache for next time.
 */
export async function getFleet(
  src: FleetSource,
  maxAgeMs = CACHE_TTL_MS,
  tags: 'wait' | 'background' = 'wait',
): Promise<Fleet> {
  const path = await pathFor(src)
  if (maxAgeMs > 0) {
    const cached = await readInventoryCache(path)
    if (cached && src.now().getTime() - cached.savedAt.getTime() <= maxAgeMs) {
      src.log.verbose(
        `fleet from cache (${cached.instances.length} instances, saved ${cached.savedAt.toISOString()})`,
      )
      return {
        instances: cached.instances,
        fromCache: true,
        savedAt: cached.savedAt,
        sightings: cached.sightings,
      }
    }
  }
  const save = async (instances: Instance[], savedAt: Date): Promise<Map<string, Sighting[]>> => {
    try {
      return await writeInventoryCache(path, instances, savedAt)
    } catch (error) {
      src.log.verbose(`could not write the inventory cache: ${(error as Error).message}`)
      return new Map()
    }
  }
  const wait = tags === 'wait'
  const instances = await loadInventory(src.clients, { ssmTags: wait, ec2Tags: wait })
  const savedAt = src.now()
  const sightings = await save(instances, savedAt)
  if (!wait) {
    loadInventory(src.clients, { ssmTags: true }).then(
      (full) => save(full, src.now()),
      (error: Error) => src.log.verbose(`background tag refresh failed: ${error.message}`),
    )
  }
  return { instances, fromCache: false, savedAt, sightings }
}

/** The cached fleet whatever its age, without listing (the shell completion); undefined if none. */
export async function cachedFleet(src: FleetSource): Promise<Instance[] | undefined> {
  return (await readInventoryCache(await pathFor(src)))?.instances
}
