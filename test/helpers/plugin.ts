import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { root } from './e2e.ts'

/** The official plugin: a user's install on PATH first, then the copy CI has beside the project. */
export function findOfficialPlugin(): string | undefined {
  const candidates = [
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, 'session-manager-plugin')),
    join(root, '..', 'shared', 'tools', 'session-manager-plugin', 'session-manager-plugin'),
  ]
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK)
      return c
    } catch {
      // next
    }
  }
  return undefined
}
