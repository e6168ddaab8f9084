// The fleet as a table for people: name, id, status, platform, IP, agent, last seen. Offline rows
// dimmed and clones marked; cloud values are untrusted, so control characters never reach the terminal.
import { cloneIds } from '../domain/doctor/clones.ts'
import type { Instance } from '../domain/instance.ts'
import { safeLabel } from '../support/terminal-text.ts'
import { ago } from '../support/time.ts'
import { type Colors, colors as makeColors } from './color.ts'

/** A cell: escape sequences dropped, other control characters (line breaks and tabs too) shown as '?'. */
export const printable = safeLabel

export { cloneIds }

export const HEADER = ['NAME', 'ID', 'STATUS', 'PLATFORM', 'IP', 'AGENT', 'LAST SEEN']

export function instanceRow(i: Instance, now: Date, clones: Set<string>): string[] {
  return [
    printable(i.name || '-') + (clones.has(i.id) ? ' (clone)' : ''),
    printable(i.id),
    printable(i.pingStatus),
    printable(i.platform),
    printable(i.ipAddress),
    printable(i.agentVersion),
    ago(i.lastPing, now),
  ]
}

export function columnWidths(rows: string[][]): number[] {
  return (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
}

export function formatRow(row: string[], widths: number[]): string {
  return row
    .map((cell, c) => cell.padEnd(widths[c] ?? 0))
    .join('  ')
    .trimEnd()
}

export function formatInstanceTable(
  instances: Instance[],
  now: Date,
  c: Colors = makeColors(false),
  clones: Set<string> = cloneIds(instances),
): string {
  const rows = [HEADER, ...instances.map((i) => instanceRow(i, now, clones))]
  const widths = columnWidths(rows)
  return `${rows
    .map((r, n) => {
      const line = formatRow(r, widths)
      if (n === 0) return c.bold(line)
      return instances[n - 1]?.pingStatus === 'Online' ? line : c.dim(line)
    })
    .join('\n')}\n`
}
