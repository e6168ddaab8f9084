import { describe, expect, it } from 'vitest'
import { UsageError } from '../support/errors.ts'
import { harden } from './harden.ts'

const base = { filters: [], pick: false, refresh: false, action: 'apply', piNopasswd: false, json: false }

describe('harden flags', () => {
  it.each([
    [['pi-kitchen'], { ...base, targets: ['pi-kitchen'] }],
    [['a', 'b', '--pi-nopasswd'], { ...base, targets: ['a', 'b'], piNopasswd: true }],
    [
      ['tag:site=home', '--dry-run', '--json'],
      { ...base, targets: ['tag:site=home'], action: 'dry-run', json: true },
    ],
    [['pi-kitchen', '--undo'], { ...base, targets: ['pi-kitchen'], action: 'undo' }],
    [
      ['--filter', 'platform=raspbian', '--refresh'],
      { ...base, targets: [], filters: [{ kind: 'platform', value: 'raspbian' }], refresh: true },
    ],
    [['--pick'], { ...base, targets: [], pick: true }],
  ])('%j', (argv, options) => {
    expect(harden.parse(argv)).toEqual(options)
  })

  it.each([
    [[], /harden needs targets/],
    [['pi', '--dry-run', '--undo'], /--dry-run and --undo do not go together/],
    [['pi', '--undo', '--pi-nopasswd'], /--undo takes no --pi-nopasswd/],
    [['pi', '--force'], /Unknown option '--force'/],
  ])('rejects %j', (argv, message) => {
    expect(() => harden.parse(argv)).toThrow(UsageError)
    expect(() => harden.parse(argv)).toThrow(message)
  })
})
