import { describe, expect, it } from 'vitest'
import { createLog } from './log.ts'

describe('createLog', () => {
  const into = () => {
    const lines: string[] = []
    return { lines, sink: { write: (t: string) => void lines.push(t) } }
  }

  it('writes what the level lets through, one line each, with no stamp on a terminal', () => {
    const { lines, sink } = into()
    const log = createLog(sink, 'verbose')
    log.info('started')
    log.verbose('step')
    log.debug('frame')
    expect(lines).toEqual(['ssm-ssh: started\n', 'ssm-ssh: step\n'])
  })

  it('starts each line with the stamp (a log file: time and pid)', () => {
    const { lines, sink } = into()
    createLog(sink, 'debug', 'ssm-ssh', () => '2026-12-01T00:00:00.000Z [42]').debug('frame')
    expect(lines).toEqual(['2026-12-01T00:00:00.000Z [42] ssm-ssh: frame\n'])
  })

  it('keeps control bytes from the cloud out of the line', () => {
    const { lines, sink } = into()
    createLog(sink, 'normal').info('name \u001b]0;owned\u0007 here')
    expect(lines[0]).not.toContain('\u001b')
    expect(lines[0]).not.toContain('\u0007')
  })
})
