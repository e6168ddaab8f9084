import { describe, expect, it } from 'vitest'
import { parseFilter } from './filter.ts'

describe('ls --filter', () => {
  it.each([
    ['status=online', { kind: 'status', value: 'Online' }],
    ['STATUS=connectionlost', { kind: 'status', value: 'ConnectionLost' }],
    ['platform=raspbian', { kind: 'platform', value: 'raspbian' }],
    ['tag:site=home', { kind: 'tag', key: 'site', value: 'home' }],
    ['kitchen', { kind: 'text', value: 'kitchen' }],
    ['a b=c', { kind: 'text', value: 'a b=c' }],
  ])('%s', (text, filter) => {
    expect(parseFilter(text)).toEqual(filter)
  })

  it.each([
    ['bogus=1', '--filter bogus=1: unknown filter "bogus"'],
    ['status=onlin', '--filter status=onlin: no such status'],
    ['tag=site', '--filter tag=site: write tag:KEY=VALUE'],
  ])('ls --filter %s is an error, not an empty list (it silently showed nothing)', (text, message) => {
    expect(() => parseFilter(text)).toThrow(message)
  })
})
