// The inventory on disk (XDG cache, one file per profile+region, 0600, written atomically), so
// the picker opens at once and name resolution in proxy costs no listing.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Instance } from '../domain/instance.ts'
import { writeFileAtomic } from '../support/atomic-file.ts'

export const CACHE_TTL_MS = 5 * 60_000

interface CacheFile {
  version: 1
  savedAt: string
  instances: Array<Omit<Instance, 'lastPing'> & { lastPing?: string }>
}

export function cachePath(cacheDir: string, profile: string, region: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_')
  return join(cacheDir, `inventory-${safe(profile)}-${safe(region)}.json`)
}

export async function readInventoryCache(
  path: string,
): Promise<{ instances: Instance[]; savedAt: Date } | undefined> {
  try {
    const file = JSON.parse(await readFile(path, 'utf8')) as CacheFile
    if (file.version !== 1 || !Array.isArray(file.instances)) return undefined
    return {
      savedAt: new Date(file.savedAt),
      instances: file.instances.map(
        (i) => ({ ...i, ...(i.lastPing ? { lastPing: new Date(i.lastPing) } : {}) }) as Instance,
      ),
    }
  } catch {
    return undefined
  }
}

export async function writeInventoryCache(path: string, instances: Instance[], now: Date): Promise<void> {
  const file: CacheFile = {
    version: 1,
    savedAt: now.toISOString(),
    instances: instances.map(({ lastPing, ...rest }) => ({
      ...rest,
      ...(lastPing ? { lastPing: lastPing.toISOString() } : {}),
    })),
  }
  await writeFileAtomic(path, JSON.stringify(file), { mode: 0o600 })
}
