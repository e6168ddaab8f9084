/** "42s ago", "5m ago", "3h ago", "2d ago": how long ago a node was last seen, for people. */
export function ago(d: Date | undefined, now: Date, never = '-'): string {
  if (!d) return never
  const s = Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000))
  return s < 120
    ? `${s}s ago`
    : s < 7200
      ? `${Math.round(s / 60)}m ago`
      : s < 172800
        ? `${Math.round(s / 3600)}h ago`
        : `${Math.round(s / 86400)}d ago`
}
