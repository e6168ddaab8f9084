// Which i- instances can take EC2 Instance Connect keys: sshd there asks eic_run_authorized_keys.
// Only the instance knows; the push-key script reports it with every Run Command push, and this file
// (XDG cache, 0600) remembers it a day, so the next push to that instance picks the right method.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../support/atomic-file.ts'

const KEEP_MS = 24 * 3_600_000

interface CacheFile {
  version: 1
  instances: Record<string, { instanceConnect: boolean; checkedAt: string }>
}

const pathOf = (cacheDir: string) => join(cacheDir, 'instance-connect.json')

async function readCache(cacheDir: string): Promise<CacheFile['instances']> {
  try {
    const file = JSON.parse(await readFile(pathOf(cacheDir), 'utf8')) as CacheFile
    return file.version === 1 && typeof file.instances === 'object' ? file.instances : {}
  } catch {
    return {}
  }
}

/** What is known and recent: id → whether EC2 Instance Connect works there. */
export async function knownInstanceConnect(cacheDir: string, now: Date): Promise<Map<string, boolean>> {
  const known = new Map<string, boolean>()
  for (const [id, entry] of Object.entries(await readCache(cacheDir))) {
    if (now.getTime() - Date.parse(entry.checkedAt) < KEEP_MS) known.set(id, entry.instanceConnect)
  }
  return known
}

export async function rememberInstanceConnect(
  cacheDir: string,
  found: Map<string, boolean>,
  now: Date,
): Promise<void> {
  if (found.size === 0) return
  const instances = await readCache(cacheDir)
  for (const [id, instanceConnect] of found) instances[id] = { instanceConnect, checkedAt: now.toISOString() }
  const file: CacheFile = { version: 1, instances }
  await writeFileAtomic(pathOf(cacheDir), JSON.stringify(file), { mode: 0o600 })
}
