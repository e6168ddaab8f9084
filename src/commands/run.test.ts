// run's flags, one case a line: what parses to what, and every refusal names the flag and the fix.
import { describe, expect, it } from 'vitest'
import { UsageError } from '../support/errors.ts'
import { parse } from './run.ts'

describe('run parse', () => {
  it.each([
    [
      ['tag:site=home', '--', 'uname -n'],
      { targets: ['tag:site=home'], command: 'uname -n', via: 'run-command' },
    ],
    [['a', 'b', '--', 'ls', '-la', '/tmp'], { targets: ['a', 'b'], command: 'ls -la /tmp' }],
    [
      ['--filter', 'status=Online', '--', 'true'],
      { targets: [], filters: [{ kind: 'status', value: 'Online' }] },
    ],
    [['x', '--timeout', '90', '--', 'true'], { timeoutSeconds: 90, deliveryTimeoutSeconds: 300 }],
    [
      ['x', '--timeout', '2h', '--delivery-timeout', '1m', '--', 'true'],
      { timeoutSeconds: 7200, deliveryTimeoutSeconds: 60 },
    ],
    [
      ['x', '--max-concurrency', '10%', '--max-errors', '0', '--', 'true'],
      { maxConcurrency: '10%', maxErrors: '0' },
    ],
    [['x', '--', 'true'], { maxConcurrency: '50', maxErrors: '100%', json: false, parallel: 10 }],
    [
      ['x', '--comment', 'patch Tuesday', '--working-dir', '/srv', '--', 'true'],
      { comment: 'patch Tuesday', workingDir: '/srv' },
    ],
    [
      ['x', '--output-s3-bucket', 'logs', '--cloudwatch-output', '--', 'true'],
      { outputS3Bucket: 'logs', cloudWatch: true },
    ],
    [
      ['x', '--via', 'ssh', '--parallel', '4', '-l', 'pi', '-o', 'ConnectTimeout=5', '--', 'true'],
      { via: 'ssh', parallel: 4, user: 'pi', sshOptions: ['ConnectTimeout=5'] },
    ],
    [
      ['x', '--json', '--document', 'AWS-RunPowerShellScript', '--', 'Get-Date'],
      { json: true, document: 'AWS-RunPowerShellScript' },
    ],
    [
      ['tag:site=home', '--recipe', 'cloudwatch-agent'],
      { recipe: 'cloudwatch-agent', command: '', via: 'run-command' },
    ],
  ])('%j', (argv, expected) => {
    expect(parse(argv)).toMatchObject(expected)
  })

  it.each([
    [['x'], /needs a command after --/],
    [['--', 'true'], /needs targets/],
    [['x', '--max-concurrency', '0', '--', 'true'], /--max-concurrency 0 is not a count or a percentage/],
    [['x', '--max-errors', '101%', '--', 'true'], /--max-errors 101% is not/],
    [['x', '--timeout', '3d', '--', 'true'], /--timeout 3d is not a duration/],
    [['x', '--timeout', '4', '--', 'true'], /--timeout 4 is not a duration from 5s/],
    [['x', '--delivery-timeout', '10', '--', 'true'], /--delivery-timeout 10 is not a duration from 30s/],
    [['x', '--via', 'telnet', '--', 'true'], /--via telnet is not run-command or ssh/],
    [['x', '--parallel', '4', '--', 'true'], /--parallel needs --via ssh/],
    [['x', '--via', 'ssh', '--max-errors', '1', '--', 'true'], /--max-errors is a Run Command setting/],
    [['x', '--comment', 'c'.repeat(101), '--', 'true'], /--comment is longer than Run Command keeps/],
    [['x', '--cloudwatch-group', 'g', '--', 'true'], /--cloudwatch-group needs --cloudwatch-output/],
    [
      ['x', '--via', 'ssh', '-l', 'root; reboot', '--', 'true'],
      /--user root; reboot is not a valid login name/,
    ],
    [['x', '--bogus', '--', 'true'], /Unknown option '--bogus'/],
    [['x', '--recipe', 'cloudwatch-agent', '--', 'true'], /--recipe and -- COMMAND cannot be used together/],
    [['x', '--recipe', 'nope'], /there is no recipe nope/],
    [['x', '--recipe', 'cloudwatch-agent', '--via', 'ssh'], /--recipe runs as root through Run Command/],
    [['x', '--recipe', 'cloudwatch-agent', '--document', 'D'], /--recipe runs with AWS-RunShellScript/],
  ])('%j is refused', (argv, message) => {
    let error: unknown
    try {
      parse(argv)
    } catch (e) {
      error = e
    }
    expect((error as Error).message).toMatch(message)
    expect(error).toBeInstanceOf(UsageError)
  })
})
