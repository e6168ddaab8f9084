import { describe, expect, it } from 'vitest'
import { agentVersionFindings } from './agent-features.ts'
import { DOCTOR_EXIT, exitCodeFor, fail, ok, warn } from './finding.ts'

describe('doctor findings', () => {
  it('the worst finding decides the exit code, apart from the CLI’s own codes', () => {
    expect(exitCodeFor([])).toBe(0)
    expect(exitCodeFor([ok('a', 'fine'), warn('b', 'hm', 'fix')])).toBe(DOCTOR_EXIT.warn)
    expect(exitCodeFor([fail('c', 'bad', 'fix'), warn('b', 'hm', 'fix')])).toBe(DOCTOR_EXIT.fail)
    expect(new Set(Object.values(DOCTOR_EXIT)).size).toBe(3)
    for (const code of [1, 2, 3, 4, 5, 130]) expect(Object.values(DOCTOR_EXIT)).not.toContain(code)
  })

  it('agent versions: too old for SSH fails; too old for the extras warns; an unknown version warns', () => {
    const levels = (v: string) => agentVersionFindings('mi-1', v).map((f) => f.level)
    expect(levels('3.3.1142.0')).toEqual(['ok', 'ok', 'ok'])
    expect(levels('3.1.1188.0')).toEqual(['ok', 'ok', 'warn'])
    expect(levels('2.3.672.0')).toEqual(['ok', 'warn', 'warn'])
    expect(levels('2.3.500.0')).toEqual(['fail', 'warn', 'warn'])
    expect(levels('')).toEqual(['warn'])
  })
})
