import { describe, expect, it } from 'vitest'
import { isLockStale, wonTakeover } from './parameter-lock.ts'

const now = new Date('2026-12-01T12:00:00Z')

describe('the lock', () => {
  it.each([
    [JSON.stringify({ owner: 'a', expires: '2026-12-01T12:00:01Z' }), false],
    [JSON.stringify({ owner: 'a', expires: '2026-12-01T12:00:00Z' }), true],
    [JSON.stringify({ owner: 'a' }), true],
    ['garbage', true],
  ])('stale(%s) = %s', (text, stale) => {
    expect(isLockStale(text, now)).toBe(stale)
  })

  const staleLock = { version: 3, value: '{"owner":"dead","expires":"2026-12-01T11:00:00Z"}' }
  it.each([
    [
      'first writer after the stale version wins',
      [staleLock, { version: 4, value: 'A' }, { version: 5, value: 'B' }],
      4,
      true,
    ],
    ['a later writer loses', [staleLock, { version: 4, value: 'A' }, { version: 5, value: 'B' }], 5, false],
    [
      'a lock made afresh in between (same number, other value) is not the stale one',
      [
        { version: 3, value: 'fresh' },
        { version: 4, value: 'A' },
      ],
      4,
      false,
    ],
    ['history pruned before it', [{ version: 4, value: 'A' }], 4, false],
  ])('%s', (_name, history, mine, won) => {
    expect(wonTakeover(history, staleLock, mine)).toBe(won)
  })
})
