// Run Command's Status/StatusDetails as run's host statuses, the plugin Output read back into stdout
// and stderr, truncation, and the run's exit code.
import { describe, expect, it } from 'vitest'
import { type HostResult, hostStatus, isTruncated, runExitCode, splitPluginOutput } from './results.ts'

const r = (
  status: HostResult['status'],
  exitCode: number | null = status === 'Success' ? 0 : 1,
): HostResult => ({
  id: 'mi-0',
  name: 'pi',
  status,
  exitCode,
  stdout: '',
  stderr: '',
  truncated: false,
})

describe('run results', () => {
  it.each([
    ['Success', 'Success', 'Success'],
    ['Failed', 'Failed', 'Failed'],
    ['Failed', 'Undeliverable', 'Undeliverable'],
    ['Failed', 'InvalidPlatform', 'InvalidPlatform'],
    ['TimedOut', 'Execution Timed Out', 'TimedOut'],
    ['TimedOut', 'Delivery Timed Out', 'DeliveryTimedOut'],
    ['Cancelled', 'Cancelled', 'Cancelled'],
    ['Cancelled', 'Terminated', 'Terminated'],
  ])('%s / %s is %s', (status, details, expected) => {
    expect(hostStatus(status, details)).toBe(expected)
  })

  it.each([
    ['hi\n', { stdout: 'hi\n', stderr: '' }],
    ['\n----------ERROR-------\nboom', { stdout: '', stderr: 'boom' }],
    [
      'out\n\n----------ERROR-------\nerr\nfailed to run commands: exit status 3',
      { stdout: 'out\n', stderr: 'err\nfailed to run commands: exit status 3' },
    ],
    ['xxx\n---Output truncated---', undefined],
    ['a\n----------ERROR-------\nb\n---Error truncated----', undefined],
    ['a\n----------ERROR-------\nb\n----------ERROR-------\nc', undefined],
  ])('plugin Output %j', (output, expected) => {
    expect(splitPluginOutput(output)).toEqual(expected)
  })

  it('knows the agent’s and the service’s cuts', () => {
    expect(isTruncated(`${'x'.repeat(23_980)}--output truncated--`, '')).toBe(true)
    expect(isTruncated('x'.repeat(24_000), '')).toBe(true)
    expect(isTruncated('', 'e'.repeat(8_000))).toBe(true)
    expect(isTruncated('x'.repeat(23_999), 'e'.repeat(7_999))).toBe(false)
  })

  it.each([
    [[r('Success'), r('Success')], 0],
    [[r('Success'), r('Offline', null)], 4],
    [[r('Success'), r('DeliveryTimedOut', null), r('TooOld', null)], 4],
    [[r('Success'), r('Failed', 2), r('Offline', null)], 1],
    [[r('Success'), r('TimedOut', 137)], 1],
    [[r('Failed', 3)], 3],
    [[r('Failed', 300)], 255],
    [[r('TimedOut', null)], 1],
    [[r('TimedOut', 137)], 1],
    [[r('Success'), r('Cancelled', null)], 130],
  ])('%j exits %i', (results, code) => {
    expect(runExitCode(results)).toBe(code)
  })
})
