// "90", "90s", "10m", "2h" → seconds, within what the flag's AWS parameter admits.
import { UsageError } from '../../support/errors.ts'

const UNIT: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600 }

export function parseDuration(text: string, flag: string, min: number, max: number): number {
  const m = /^(\d+)(s|m|h)?$/.exec(text.trim())
  const seconds = m ? Number(m[1]) * (UNIT[m[2] ?? ''] as number) : Number.NaN
  if (!(seconds >= min && seconds <= max))
    throw new UsageError(`${flag} ${text} is not a duration from ${min}s to ${max}s`, {
      hint: `e.g. ${flag} 10m (s, m or h)`,
    })
  return seconds
}
