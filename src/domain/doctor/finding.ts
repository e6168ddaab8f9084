// What `doctor` reports: one finding per check (and target), its level, why, and the one-line fix;
// the worst level decides the exit code.

export type Level = 'ok' | 'warn' | 'fail'

export interface Finding {
  /** what was checked, e.g. "agent version", "ssm-user sudo" */
  check: string
  /** the instance id it is about; absent for local checks */
  target?: string
  level: Level
  why: string
  /** one command or step; '' when there is nothing to do */
  fix: string
}

/** Exit codes of `doctor`, apart from the CLI's own (1 failed to run, 2 usage, 3 credentials). */
export const DOCTOR_EXIT = { ok: 0, warn: 10, fail: 11 } as const

const RANK: Record<Level, number> = { ok: 0, warn: 1, fail: 2 }

export function worstLevel(findings: Finding[]): Level {
  return findings.reduce<Level>((worst, f) => (RANK[f.level] > RANK[worst] ? f.level : worst), 'ok')
}

export function exitCodeFor(findings: Finding[]): number {
  return DOCTOR_EXIT[worstLevel(findings)]
}

export const ok = (check: string, why: string, target?: string): Finding => ({
  check,
  ...(target ? { target } : {}),
  level: 'ok',
  why,
  fix: '',
})

const withFix =
  (level: 'warn' | 'fail') =>
  (check: string, why: string, fix: string, target?: string): Finding => ({
    check,
    ...(target ? { target } : {}),
    level,
    why,
    fix,
  })

export const warn = withFix('warn')
export const fail = withFix('fail')
