// The fleet as a table for people (stderr): name, id, status, platform, IP, agent, last seen.
import type { Instance } from '../domain/instance.ts'

function ago(d: Date | undefined, now: Date): string {
  if (!d) return '-'
  const s = Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000))
  return s < 120
    ? `${s}s ago`
    : s < 7200
      ? `${Math.round(s / 60)}m ago`
      : s < 172800
        ? `${Math.round(s / 3600)}h ago`
        : `${Math.round(s / 86400)}d ago`
}

/** Cloud values are untrusted: keep control characters out of the terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what it removes
const printable = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')

export function formatInstanceTable(instances: Instance[], now: Date): string {
  const counts = new Map<string, number>()
  for (const i of instances)
    counts.set(`${i.name}\u0000${i.computerName}`, (counts.get(`${i.name}\u0000${i.computerName}`) ?? 0) + 1)
  const rows = [['NAME', 'ID', 'STATUS', 'PLATFORM', 'IP', 'AGENT', 'LAST SEEN']]
  for (const i of instances) {
    const clone = (counts.get(`${i.name}\u0000${i.computerName}`) ?? 0) > 1 ? ' (clone)' : ''
    rows.push([
      printable(i.name || '-') + clone,
      i.id,
      i.pingStatus,
      printable(i.platform),
      i.ipAddress,
      i.agentVersion,
      ago(i.lastPing, now),
    ])
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
  return `${rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`
}
