import { describe, expect, it } from 'vitest'
import { UsageError } from '../support/errors.ts'
import { pushKey } from './push-key.ts'

const base = { ttlSeconds: 600, method: 'auto', mode: 'add' }

describe('push-key flags', () => {
  it.each([
    [['pi-kitchen'], { ...base, targets: ['pi-kitchen'] }],
    [['web-1', '-l', 'ec2-user'], { ...base, targets: ['web-1'], user: 'ec2-user' }],
    [
      ['a', 'b', '--ttl', '2m', '--method', 'run-command'],
      { ...base, targets: ['a', 'b'], ttlSeconds: 120, method: 'run-command' },
    ],
    [
      ['web-1', '--revoke', '--key', 'k.pub'],
      { ...base, targets: ['web-1'], keyFile: 'k.pub', mode: 'revoke' },
    ],
    [['tag:site=home', '--cleanup'], { ...base, targets: ['tag:site=home'], mode: 'cleanup' }],
  ])('%j', (argv, options) => {
    expect(pushKey.parse(argv)).toEqual(options)
  })

  it.each([
    [[], /needs at least one target/],
    [['pi', '--user', 'Pi; id'], /--user "Pi; id" is not a login name/],
    [['pi', '--method', 'ssh'], /--method ssh is not auto, eic or run-command/],
    [['pi', '--cleanup', '--revoke'], /--cleanup and --revoke do not go together/],
    [['pi', '--revoke', '--ttl', '5m'], /--revoke takes no --ttl or --method/],
    [['pi', '--cleanup', '--method', 'eic'], /--cleanup takes no --ttl or --method/],
    [['pi', '--ttl', '5s'], /--ttl 5s is not a duration from 10s to 24h/],
  ])('rejects %j', (argv, message) => {
    expect(() => pushKey.parse(argv)).toThrow(UsageError)
    expect(() => pushKey.parse(argv)).toThrow(message)
  })
})
