// ssm-ssh's own known_hosts (<ssh-dir>/ssm-ssh/known_hosts), keyed by HostKeyAlias = instance id:
// host keys learnt through Run Command, so the first ssh is verified, not trust-on-first-use.
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { writeFileAtomic } from '../support/atomic-file.ts'
import { readText, withLock } from './config-files.ts'

export const knownHostsPath = (sshDir: string) => join(sshDir, 'ssm-ssh', 'known_hosts')

export interface PinResult {
  added: number
  /** keys of a type we had pinned before, now different: never overwritten */
  changed: string[]
}

/** `HOSTKEY <type> <base64>` lines of a script's output. */
export function parseHostKeys(output: string): string[] {
  return [...output.matchAll(/^HOSTKEY ((?:ssh|ecdsa)-[A-Za-z0-9@.-]+) ([A-Za-z0-9+/=]+)$/gm)].map(
    (m) => `${m[1]} ${m[2]}`,
  )
}

/** Under a lock: four pushes pinning at once kept three (each read the file before the others wrote). */
export async function pinHostKeys(sshDir: string, instanceId: string, keys: string[]): Promise<PinResult> {
  const path = knownHostsPath(sshDir)
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  return withLock(dirname(path), () => pinLocked(path, instanceId, keys), 'known_hosts.lock')
}

async function pinLocked(path: string, instanceId: string, keys: string[]): Promise<PinResult> {
  const text = (await readText(path)) ?? ''
  const lines = text.split('\n').filter(Boolean)
  const known = new Map(
    lines.filter((l) => l.startsWith(`${instanceId} `)).map((l) => [l.split(' ')[1], l.split(' ')[2]]),
  )
  const result: PinResult = { added: 0, changed: [] }
  for (const key of keys) {
    const [type, blob] = key.split(' ')
    const had = known.get(type)
    if (had === blob) continue
    if (had !== undefined) {
      result.changed.push(type as string)
      continue
    }
    lines.push(`${instanceId} ${key}`)
    result.added++
  }
  if (result.added > 0) await writeFileAtomic(path, `${lines.join('\n')}\n`, { mode: 0o600 })
  return result
}
