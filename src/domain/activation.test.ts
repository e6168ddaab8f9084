import { describe, expect, it } from 'vitest'
import {
  judgeActivation,
  type ListedActivation,
  parseStoredActivation,
  type StoredActivation,
} from './activation.ts'

const now = new Date('2026-12-01T12:00:00Z')
const H = 3600_000
const id = '0f1e2d3c-4b5a-4968-8776-655443322110'
const stored: StoredActivation = { id, code: 'AbCdEfGhIjKlMnOpQrSt', expires: '2026-12-20T00:00:00Z' }
const listed = (over: Partial<ListedActivation> = {}): ListedActivation => ({
  activationId: id,
  iamRole: 'SSMServiceRole',
  registrationLimit: 5,
  registrationsCount: 0,
  expirationDate: new Date(now.getTime() + 48 * H),
  expired: false,
  ...over,
})

describe('judgeActivation', () => {
  it.each([
    ['usable', stored, listed(), { valid: true }],
    ['nothing stored', undefined, undefined, { valid: false, reason: 'none' }],
    ['no longer listed (deleted)', stored, undefined, { valid: false, reason: 'deleted' }],
    ['Expired flag', stored, listed({ expired: true }), { valid: false, reason: 'expired' }],
    [
      'past its date',
      stored,
      listed({ expirationDate: new Date(now.getTime() - 1) }),
      { valid: false, reason: 'expired' },
    ],
    [
      'within the hour',
      stored,
      listed({ expirationDate: new Date(now.getTime() + 0.5 * H) }),
      { valid: false, reason: 'expiring' },
    ],
    ['4 of 5 used', stored, listed({ registrationsCount: 4 }), { valid: true }],
    ['5 of 5 used', stored, listed({ registrationsCount: 5 }), { valid: false, reason: 'full' }],
    [
      '1 of 1 used',
      stored,
      listed({ registrationLimit: 1, registrationsCount: 1 }),
      { valid: false, reason: 'full' },
    ],
    ['another role', stored, listed({ iamRole: 'Other' }), { valid: false, reason: 'other-role' }],
  ] as const)('%s', (_name, s, l, verdict) => {
    expect(judgeActivation(s, l, { now, role: 'SSMServiceRole' })).toEqual(verdict)
  })
})

describe('parseStoredActivation', () => {
  it.each([
    [JSON.stringify(stored), stored],
    ['', undefined],
    ['not json', undefined],
    [JSON.stringify({ ...stored, id: 'x' }), undefined],
    [JSON.stringify({ ...stored, code: 'has space' }), undefined],
    [JSON.stringify({ ...stored, expires: 'soon' }), undefined],
  ])('%s', (text, out) => {
    expect(parseStoredActivation(text)).toEqual(out)
  })
})
