// Hosts behind managed instances, declared with `ssm-ssh config add-host`, kept in our state dir.
import { join } from 'node:path'
import type { Hop } from '../domain/ssh-config/stanzas.ts'
import { writeFileAtomic } from '../support/atomic-file.ts'
import { readText } from './config-files.ts'

export const hopsPath = (stateDir: string) => join(stateDir, 'hops.json')

export async function readHops(stateDir: string): Promise<Hop[]> {
  const text = await readText(hopsPath(stateDir))
  if (!text) return []
  const parsed = JSON.parse(text) as { hops?: Hop[] }
  return parsed.hops ?? []
}

export async function writeHops(stateDir: string, hops: Hop[]): Promise<void> {
  await writeFileAtomic(hopsPath(stateDir), `${JSON.stringify({ hops }, null, 2)}\n`, { mode: 0o600 })
}
