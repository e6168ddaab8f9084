import { describe, expect, it } from 'vitest'
import type { Instance } from './instance.ts'
import { buildIndex, createIncrementalRanker, fuzzyScore, rank } from './rank.ts'

const inst = (name: string, extra: Partial<Instance> = {}): Instance => ({
  id: `mi-${name.length.toString(16).padStart(17, '0')}`,
  name,
  computerName: `${name}.local`,
  ipAddress: '10.0.0.1',
  pingStatus: 'Online',
  platform: 'Raspbian',
  agentVersion: '3.3.0.0',
  resourceType: 'ManagedInstance',
  tags: {},
  ...extra,
})

const fleet = [
  inst('pi-kitchen', { id: 'mi-0000000000000000a', tags: { room: 'kitchen' } }),
  inst('pi-garage', { id: 'mi-0000000000000000b' }),
  inst('pi-garden-shed', { id: 'mi-0000000000000000c', pingStatus: 'ConnectionLost' }),
  inst('kiosk-lobby', { id: 'mi-0000000000000000d', ipAddress: '192.168.7.42' }),
  inst('web-1', { id: 'i-0123456789abcdef0', computerName: 'ip-172-31-0-5.eu-west-1.compute.internal' }),
  inst('pick-garage', { id: 'mi-0000000000000000e', pingStatus: 'ConnectionLost' }),
]
const index = buildIndex(fleet)
const names = (q: string) => rank(index, q).map((r) => r.instance.name)

describe('fuzzyScore', () => {
  it('needs every character in order', () => {
    expect(fuzzyScore('pkt', 'pi-kitchen')).toBeGreaterThan(0)
    expect(fuzzyScore('tkp', 'pi-kitchen')).toBe(-1)
  })
  it('finds a match that a jump to a word start would miss', () => {
    expect(fuzzyScore('ab', 'cab-a')).toBeGreaterThan(0)
  })
  it('prefers runs and word starts over scattered letters', () => {
    expect(fuzzyScore('kit', 'pi-kitchen')).toBeGreaterThan(fuzzyScore('kit', 'kiosk-lobby-it'))
  })
})

describe('rank (query → expected order)', () => {
  it.each([
    ['kitchen', ['pi-kitchen']],
    ['gar', ['pi-garage', 'pi-garden-shed', 'pick-garage']],
    ['pig', ['pi-garage', 'pi-garden-shed', 'pick-garage']],
    ['garage', ['pi-garage', 'pick-garage']],
    ['192.168.7', ['kiosk-lobby']],
    ['room=kit', ['pi-kitchen']],
    ['i-0123', ['web-1']],
    ['pi shed', ['pi-garden-shed']],
    ['compute.internal', ['web-1']],
    ['zzz', []],
  ])('%s', (query, expected) => {
    expect(names(query)).toEqual(expected)
  })

  it('typing narrows incrementally to the same result as ranking from scratch', () => {
    const ranker = createIncrementalRanker(index)
    for (const q of ['p', 'pi', 'pi-', 'pi-g', 'pi-ga', 'pi-gar', 'pi g', 'k', 'kio']) {
      expect(ranker(q).map((r) => r.instance.id)).toEqual(rank(index, q).map((r) => r.instance.id))
    }
  })

  it('an empty query lists everything, online first', () => {
    const all = names('')
    expect(all).toHaveLength(fleet.length)
    expect(all.slice(-2)).toEqual(['pi-garden-shed', 'pick-garage'])
  })

  it('equal scores: online first, then name, then id', () => {
    const twins = buildIndex([
      inst('b-pi', { id: 'mi-00000000000000002', pingStatus: 'ConnectionLost' }),
      inst('b-pi', { id: 'mi-00000000000000001' }),
      inst('a-pi', { id: 'mi-00000000000000003', pingStatus: 'ConnectionLost' }),
      inst('B-pi', { id: 'mi-00000000000000000' }),
    ])
    expect(rank(twins, 'pi').map((r) => r.instance.id)).toEqual([
      'mi-00000000000000000',
      'mi-00000000000000001',
      'mi-00000000000000003',
      'mi-00000000000000002',
    ])
  })
})
