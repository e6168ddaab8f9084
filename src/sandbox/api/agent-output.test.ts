// The agent's trimming, case by case: lengths worked out by hand from its rules (2,500-byte Output,
// the 24-byte error title, 23-byte markers; 24,000-byte streams ending in the 20-byte suffix).
import { describe, expect, it } from 'vitest'
import { stringPrefix, truncateOutput } from './agent-output.ts'
import { agentExecutionTimeout } from './command-runner.ts'
import { concurrencyLimit, errorLimit } from './rate-control.ts'

const TITLE = '\n----------ERROR-------\n'

describe('what the agent keeps of a script’s output', () => {
  it.each([
    ['', '', ''],
    ['out', '', 'out'],
    ['', 'err', `${TITLE}err`],
    ['out', 'err', `out${TITLE}err`],
  ])('joins %j and %j whole when they fit', (out, err, expected) => {
    expect(truncateOutput(out, err)).toBe(expected)
  })

  it('cuts both halves when both are long: (2500 − 24 − 23 − 23) / 2 = 1215 bytes each', () => {
    const r = truncateOutput('o'.repeat(5000), 'e'.repeat(5000))
    expect(r).toBe(
      `${'o'.repeat(1215)}\n---Output truncated---${TITLE}${'e'.repeat(1215)}\n---Error truncated----`,
    )
  })

  it('cuts only the long one when the other is short', () => {
    expect(truncateOutput('o'.repeat(100), 'e'.repeat(5000))).toBe(
      `${'o'.repeat(100)}${TITLE}${'e'.repeat(2500 - 24 - 23 - 100)}\n---Error truncated----`,
    )
    expect(truncateOutput('o'.repeat(5000), '')).toBe(`${'o'.repeat(2500 - 23)}\n---Output truncated---`)
  })

  it('keeps 24,000 bytes of a stream, the last 20 its suffix', () => {
    expect(stringPrefix('a'.repeat(23_999))).toBe('a'.repeat(23_999))
    expect(stringPrefix('a'.repeat(24_000))).toBe(`${'a'.repeat(23_980)}--output truncated--`)
  })

  it.each([
    ['50', 1000, 50],
    ['10%', 20, 2],
    ['10%', 5, 1],
    ['1%', 150, 2],
    ['100%', 7, 7],
  ])('MaxConcurrency %s of %i targets runs %i at once', (value, targets, expected) => {
    expect(concurrencyLimit(value, targets)).toBe(expected)
  })

  it.each([
    ['0', 10, 0],
    ['3', 10, 3],
    ['10%', 50, 5],
    ['10%', 15, 1],
    ['5%', 10, 0],
  ])('MaxErrors %s of %i targets tolerates %i', (value, targets, expected) => {
    expect(errorLimit(value, targets)).toBe(expected)
  })

  it.each([
    [2, 3600],
    [5, 5],
    [600, 600],
    [172_800, 172_800],
    [172_801, 3600],
  ])('executionTimeout %i runs the script for up to %i s', (asked, applied) => {
    expect(agentExecutionTimeout(asked)).toBe(applied)
  })
})
