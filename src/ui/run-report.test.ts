// run's printing: prefixed lines with stdout and stderr apart, status lines for what did not succeed,
// JSON Lines with --json, and the progress line only on a terminal.
import { describe, expect, it } from 'vitest'
import type { HostResult } from '../domain/run/results.ts'
import { testIo } from '../support/io.ts'
import { colors } from './color.ts'
import { createRunReport } from './run-report.ts'

const ok: HostResult = {
  id: 'mi-00000000000000001',
  name: 'pi-kitchen',
  status: 'Success',
  exitCode: 0,
  stdout: 'up 3 days\n',
  stderr: 'warning\n',
  truncated: false,
}
const failed: HostResult = {
  ...ok,
  id: 'mi-00000000000000002',
  name: 'pi-\u001b[2Jattic',
  status: 'Failed',
  exitCode: 3,
  stdout: '',
  stderr: '',
}

describe('run report', () => {
  it('prints prefixed stdout and stderr apart, and a status line for a failure; no progress off a terminal', () => {
    const io = testIo()
    const report = createRunReport({ io, json: false, colors: colors(false), elapsed: () => 1500, total: 3 })
    report.result(ok)
    report.result(failed)
    report.end()
    expect(io.stdoutText()).toBe('pi-kitchen\tup 3 days\n')
    expect(io.stderrText()).toBe('pi-kitchen\twarning\npi-attic\t[exit 3]\n')
  })

  it('keeps a progress line at the bottom of a terminal: done, failed, pending, elapsed', () => {
    const io = testIo({ isStderrTTY: true })
    const report = createRunReport({ io, json: false, colors: colors(false), elapsed: () => 2500, total: 3 })
    report.tick()
    report.result(ok)
    report.result(failed)
    report.end()
    expect(io.stderrText()).toBe(
      [
        '0 done · 0 failed · 3 pending · 2.5s',
        '\r\u001b[Kpi-kitchen\twarning\n1 done · 0 failed · 2 pending · 2.5s',
        '\r\u001b[Kpi-attic\t[exit 3]\n1 done · 1 failed · 1 pending · 2.5s',
        '\r\u001b[K',
      ].join(''),
    )
  })

  it('--json: one object per host on stdout, nothing else there', () => {
    const io = testIo()
    const report = createRunReport({ io, json: true, colors: colors(false), elapsed: () => 0, total: 2 })
    report.result(ok)
    report.result({ ...failed, status: 'Offline', exitCode: null, detail: 'ConnectionLost' })
    const rows = io
      .stdoutText()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(rows).toEqual([
      {
        id: ok.id,
        name: 'pi-kitchen',
        status: 'Success',
        exitCode: 0,
        stdout: 'up 3 days\n',
        stderr: 'warning\n',
        truncated: false,
      },
      {
        id: failed.id,
        name: failed.name,
        status: 'Offline',
        exitCode: null,
        stdout: '',
        stderr: '',
        truncated: false,
        detail: 'ConnectionLost',
      },
    ])
    expect(io.stderrText()).toBe('')
  })
})
