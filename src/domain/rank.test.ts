import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Instance } from './instance.ts'
import { buildIndex, createIncrementalRanker, fuzzyScore, type Ranking, rank } from './rank.ts'

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
const all = (ranking: Ranking) => ranking.slice(0, ranking.length)

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
  it.each([
    // per character 16, +8 continuing a run, +10 starting a word, -1 a character skipped before it;
    // +24 a prefix, +60 the whole text
    ['k', 'pi-kitchen', 16 + 10],
    ['pk', 'pi-kitchen', 16 + 10 + (16 - 2 + 10)],
    ['kit', 'pi-kitchen', 16 + 10 + (16 + 8) + (16 + 8)],
    ['ab', 'cab-a', 16 + 16 + 8],
    ['pi', 'pi', 16 + 10 + 16 + 8 + 24 + 60],
  ])('%s in %s scores %i', (pattern, text, score) => {
    expect(fuzzyScore(pattern, text)).toBe(score)
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
      expect(all(ranker(q)).map((r) => r.instance.id)).toEqual(rank(index, q).map((r) => r.instance.id))
    }
  })

  it('an empty query lists everything, online first', () => {
    const everything = names('')
    expect(everything).toHaveLength(fleet.length)
    expect(everything.slice(-2)).toEqual(['pi-garden-shed', 'pick-garage'])
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

  it('counts every match but orders only what is read: the top page, then past it on scrolling', () => {
    const many = Array.from({ length: 300 }, (_, n) =>
      inst(`pi-${(n * 7919) % 300}`, {
        id: `mi-${n.toString(16).padStart(17, '0')}`,
        pingStatus: n % 3 === 0 ? 'ConnectionLost' : 'Online',
        ...(n % 10 === 0 ? { computerName: 'pi' } : {}),
      }),
    )
    const manyIndex = buildIndex(many)
    const expected = rank(manyIndex, 'pi').map((r) => r.instance.id)
    const ranking = createIncrementalRanker(manyIndex)('pi')
    expect(ranking.length).toBe(300)
    expect(ranking.slice(0, 19).map((r) => r.instance.id)).toEqual(expected.slice(0, 19))
    expect(ranking.at(70)?.instance.id).toBe(expected[70])
    expect(ranking.slice(280, 320).map((r) => r.instance.id)).toEqual(expected.slice(280))
    expect(ranking.at(300)).toBeUndefined()
  })

  it('a Ranking from typing is read before the next keystroke, never after', () => {
    const ranker = createIncrementalRanker(index)
    const first = ranker('p')
    ranker('pi')
    expect(() => first.slice(0, 5)).toThrow(/moved on/)
  })
})

// The ranking as first written: each field scanned character by character, every match sorted
// with a comparator. rank.ts skips, hops and sorts lazily; it must give exactly this, in this order.
function referenceScore(pattern: string, text: string): number {
  if (pattern.length === 0) return 0
  const boundary = (i: number) => i === 0 || ' \t._:=/@-'.includes(text[i - 1] as string)
  const align = (preferBoundaries: boolean) => {
    let score = 0
    let ti = 0
    let last = -2
    for (let pi = 0; pi < pattern.length; pi++) {
      let found = -1
      for (let j = ti; j < text.length; j++) {
        if (text[j] !== pattern[pi]) continue
        if (found === -1) found = j
        if (!preferBoundaries || j === last + 1 || boundary(j)) {
          found = j
          break
        }
      }
      if (found === -1) return -1
      score += 16
      if (found === last + 1) score += 8
      else if (pi > 0) score -= Math.min(found - last - 1, 10)
      if (boundary(found)) score += 10
      last = found
      ti = found + 1
    }
    if (text.startsWith(pattern)) score += 24
    if (text === pattern) score += 60
    return score
  }
  const preferred = align(true)
  return preferred >= 0 ? preferred : align(false)
}

function referenceRank(instances: Instance[], query: string): Array<[string, number]> {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean)
  const fieldsOf = (i: Instance) => [
    i.name.toLowerCase(),
    i.computerName.toLowerCase(),
    i.id.toLowerCase(),
    i.ipAddress,
    ...Object.entries(i.tags).map(([k, v]) => `${k}=${v}`.toLowerCase()),
  ]
  const scored = instances.flatMap((instance) => {
    let total = 0
    for (const term of terms) {
      const best = Math.max(
        ...fieldsOf(instance).map((field, f) => {
          const s = referenceScore(term, field)
          return s >= 0 && f === 0 ? s + 5 : s
        }),
      )
      if (best < 0) return []
      total += best
    }
    return [{ instance, total }]
  })
  const offline = (i: Instance) => (i.pingStatus === 'Online' ? 0 : 1)
  const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  scored.sort(
    (a, b) =>
      b.total - a.total ||
      offline(a.instance) - offline(b.instance) ||
      byCodeUnits(a.instance.name.toLowerCase(), b.instance.name.toLowerCase()) ||
      byCodeUnits(a.instance.id, b.instance.id),
  )
  return scored.map((s) => [s.instance.id, s.total])
}

describe('rank against the reference (random fleets and queries)', () => {
  // few characters, so that fields share them, with separators, digits, upper case and non-ASCII
  const text = (maxLength: number) => fc.string({ unit: fc.constantFrom(...'abc-.=_ 01Aü'), maxLength })
  const randomFleet = (sizes: { minLength: number; maxLength: number }) =>
    fc
      .array(
        fc.record({
          name: text(8),
          computerName: text(10),
          ipAddress: text(6),
          online: fc.boolean(),
          tags: fc.dictionary(text(3), text(4), { maxKeys: 2 }),
        }),
        sizes,
      )
      .map((rows) =>
        rows.map(
          (row, n): Instance =>
            inst(row.name, {
              id: `mi-${n.toString(16).padStart(17, '0')}`,
              computerName: row.computerName,
              ipAddress: row.ipAddress,
              pingStatus: row.online ? 'Online' : 'ConnectionLost',
              tags: row.tags,
            }),
        ),
      )
  const pairs = (ranking: Ranking | ReturnType<typeof rank>, start = 0, end = Number.POSITIVE_INFINITY) =>
    ranking.slice(start, end).map((r): [string, number] => [r.instance.id, r.score])

  it('fuzzyScore gives the reference score', () => {
    fc.assert(
      fc.property(text(6), text(16), (pattern, field) => {
        expect(fuzzyScore(pattern, field)).toBe(referenceScore(pattern, field))
      }),
      { numRuns: 2000 },
    )
  })

  it('rank and typing give the reference order for every query on the way', () => {
    fc.assert(
      fc.property(randomFleet({ minLength: 0, maxLength: 40 }), text(6), (instances, query) => {
        const idx = buildIndex(instances)
        const typing = createIncrementalRanker(idx)
        for (let i = 0; i <= query.length; i++) {
          const q = query.slice(0, i)
          const expected = referenceRank(instances, q)
          expect(pairs(rank(idx, q))).toEqual(expected)
          const ranking = typing(q)
          expect(ranking.length).toBe(expected.length)
          expect(pairs(ranking, 0, ranking.length)).toEqual(expected)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('the rows a picker reads of a large fleet (top page, arrows, scrolling) are the reference rows', () => {
    fc.assert(
      fc.property(
        randomFleet({ minLength: 260, maxLength: 500 }),
        text(3),
        fc.array(fc.nat(520), { maxLength: 4 }),
        (instances, query, starts) => {
          const idx = buildIndex(instances)
          const typing = createIncrementalRanker(idx)
          for (let i = 0; i <= query.length; i++) {
            const q = query.slice(0, i)
            const expected = referenceRank(instances, q)
            const ranking = typing(q)
            expect(ranking.length).toBe(expected.length)
            expect(pairs(ranking, 0, 19)).toEqual(expected.slice(0, 19))
            for (const start of starts) {
              expect(ranking.at(start)?.instance.id).toBe(expected[start]?.[0])
              expect(pairs(ranking, start, start + 19)).toEqual(expected.slice(start, start + 19))
            }
          }
        },
      ),
      { numRuns: 40 },
    )
  })
})
