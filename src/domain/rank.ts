// fzf-style fuzzy ranking over what people remember of an instance: name, ComputerName, id, IP, tags.
// A query matches when its characters appear in order; consecutive runs, word starts and an exact
// prefix score higher, gaps score lower. Space-separated terms must all match (any field).
//
// The picker filters 10,000 instances on every keystroke, within a 16 ms frame, so the index is
// flat typed arrays built once, a match is one number (its sort key), and matches are put in order
// only as far as the screen shows them.
import type { Instance } from './instance.ts'

const SCORE_MATCH = 16
const BONUS_BOUNDARY = 10
const BONUS_CONSECUTIVE = 8
const BONUS_PREFIX = 24
const BONUS_EXACT = 60
const PENALTY_GAP = 1
/** the name outranks other fields for the same match quality */
const BONUS_NAME = 5

// A lookup table by char code: this runs ~100,000 times a keystroke at 10,000 instances.
const SEPARATOR = new Uint8Array(128)
for (const ch of ' \t._:=/@-') SEPARATOR[ch.charCodeAt(0)] = 1
const isBoundary = (text: string, i: number) => i === 0 || SEPARATOR[text.charCodeAt(i - 1)] === 1

/** Score of `pattern` in `text` (both lower case), or -1 when the characters are not all there in order. */
export function fuzzyScore(pattern: string, text: string): number {
  if (pattern.length === 0) return 0
  if (pattern.length > text.length) return -1
  const preferred = alignAndScore(pattern, text, true)
  // Jumping ahead to a word start can skip the only place the rest would match ("ab" in "cab-a"):
  // then score the plain left-most alignment instead.
  return preferred === JUMPED_AND_MISSED ? alignAndScore(pattern, text, false) : preferred
}

/** alignAndScore missed after a jump to a word start; without a jump it is the left-most alignment's -1 */
const JUMPED_AND_MISSED = -2

/**
 * Greedy forward alignment, scored; -1 when the characters are not all there. Each character takes
 * its first occurrence, unless (preferBoundaries) that neither continues a run nor starts a word and
 * a later occurrence starts a word. indexOf hops between occurrences: comparing every later
 * character in a loop made "10" over 10,000 instances (hex ids, long EC2 hostnames) cost 4 ms.
 */
function alignAndScore(pattern: string, text: string, preferBoundaries: boolean): number {
  let score = 0
  let last = -1
  let jumped = false
  for (let pi = 0; pi < pattern.length; pi++) {
    const ch = pattern[pi]!
    let found = text.indexOf(ch, last + 1)
    if (found === -1) return jumped ? JUMPED_AND_MISSED : -1
    const consecutive = pi > 0 && found === last + 1
    let boundary = isBoundary(text, found)
    if (preferBoundaries && !consecutive && !boundary) {
      for (let j = text.indexOf(ch, found + 1); j !== -1; j = text.indexOf(ch, j + 1)) {
        if (isBoundary(text, j)) {
          found = j
          boundary = true
          jumped = true
          break
        }
      }
    }
    score += SCORE_MATCH
    if (consecutive) score += BONUS_CONSECUTIVE
    else if (pi > 0) score -= PENALTY_GAP * Math.min(found - last - 1, 10)
    if (boundary) score += BONUS_BOUNDARY
    last = found
  }
  // the characters sit at 0, 1, 2 … exactly when the text starts with the pattern, and fill the
  // text when it is no longer than the pattern
  if (last === pattern.length - 1) score += BONUS_PREFIX
  if (text.length === pattern.length) score += BONUS_EXACT
  return score
}

// Which characters a text holds, one bit per class: a field lacking one of the query's characters
// is skipped without a scan ("e" is in 36,000 of 60,000 fields, "en" in 8,700). Letters get a bit
// each; digits, punctuation and the rest share the remaining bits, so a set bit only means "maybe".
const OTHER_CLASS = 1 << 30
const CHAR_CLASS = new Int32Array(128).fill(OTHER_CLASS)
for (let c = 0; c < 26; c++) CHAR_CLASS[97 + c] = 1 << c
for (let d = 0; d < 10; d++) CHAR_CLASS[48 + d] = 1 << (26 + (d % 3))
for (const ch of '.-') CHAR_CLASS[ch.charCodeAt(0)] = 1 << 29

function charClasses(text: string): number {
  let classes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    classes |= c < 128 ? CHAR_CLASS[c]! : OTHER_CLASS
  }
  return classes
}

export interface SearchIndex {
  /** the instances in tie order: online first, then name (lower case), then id */
  instances: Instance[]
  /**
   * lower-cased fields of all instances in one array: instance n owns fields[fieldFrom[n]] …
   * fields[fieldFrom[n + 1] - 1], its name first
   */
  fields: string[]
  fieldFrom: Int32Array
  /** charClasses of each field, and of each instance's fields together */
  fieldClasses: Int32Array
  instanceClasses: Int32Array
  /** a power of two above instances.length: a match's key is -score × span + position */
  span: number
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

export function buildIndex(input: Instance[]): SearchIndex {
  // Ties are broken here once: an instance's position is its tie order, so ordering a keystroke's
  // matches compares numbers only (sorting 10,000 ties with string comparisons took ~30 ms).
  const online = (i: Instance) => (i.pingStatus === 'Online' ? 0 : 1)
  const named = input.map((instance) => ({ instance, name: instance.name.toLowerCase() }))
  named.sort(
    (a, b) =>
      online(a.instance) - online(b.instance) ||
      byCodeUnits(a.name, b.name) ||
      byCodeUnits(a.instance.id, b.instance.id),
  )
  const fields: string[] = []
  const fieldFrom = new Int32Array(named.length + 1)
  for (let n = 0; n < named.length; n++) {
    const { instance, name } = named[n]!
    fieldFrom[n] = fields.length
    fields.push(name, instance.computerName.toLowerCase(), instance.id.toLowerCase(), instance.ipAddress)
    for (const key of Object.keys(instance.tags)) fields.push(`${key}=${instance.tags[key]}`.toLowerCase())
  }
  fieldFrom[named.length] = fields.length
  const fieldClasses = Int32Array.from(fields, charClasses)
  const instanceClasses = new Int32Array(named.length)
  for (let n = 0; n < named.length; n++) {
    let classes = 0
    for (let f = fieldFrom[n]!; f < fieldFrom[n + 1]!; f++) classes |= fieldClasses[f]!
    instanceClasses[n] = classes
  }
  let span = 1
  while (span <= named.length) span *= 2
  return {
    instances: named.map((e) => e.instance),
    fields,
    fieldFrom,
    fieldClasses,
    instanceClasses,
    span,
  }
}

export interface Ranked {
  instance: Instance
  score: number
}

/** The matches of one query, best first; ties: online first, then name (lower case), then id. */
export interface Ranking {
  /** how many instances match */
  readonly length: number
  /** the match at rank i (0 is the best), or undefined past the end */
  at(i: number): Ranked | undefined
  /** the matches ranked start … end - 1 */
  slice(start: number, end: number): Ranked[]
}

interface Matches {
  /** positions in the index of the matching instances, ascending: the pool when the query grows */
  positions: Int32Array
  /**
   * one key per match, -score × span + position (exact in a double: scores are small integers), so
   * ascending keys are rank order and a native numeric sort orders them
   */
  keys: Float64Array
}

/** Matches with room for every instance of an index, written over by findMatches. */
const createMatchBuffer = (size: number): Matches => ({
  positions: new Int32Array(size),
  keys: new Float64Array(size),
})

function findMatches(
  index: SearchIndex,
  query: string,
  pool: Int32Array | undefined,
  into: Matches,
): Matches {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean)
  const termClasses = Int32Array.from(terms, charClasses)
  const { fields, fieldFrom, fieldClasses, instanceClasses, span } = index
  const { positions, keys } = into
  const size = pool === undefined ? index.instances.length : pool.length
  let count = 0
  for (let p = 0; p < size; p++) {
    const n = pool === undefined ? p : pool[p]!
    let total = 0
    for (let t = 0; t < terms.length && total >= 0; t++) {
      const want = termClasses[t]!
      let best = -1
      if ((instanceClasses[n]! & want) === want) {
        const name = fieldFrom[n]!
        for (let f = name; f < fieldFrom[n + 1]!; f++) {
          if ((fieldClasses[f]! & want) !== want) continue
          const s = fuzzyScore(terms[t]!, fields[f]!)
          if (s >= 0) best = Math.max(best, f === name ? s + BONUS_NAME : s)
        }
      }
      total = best < 0 ? -1 : total + best
    }
    if (total < 0) continue
    positions[count] = n
    keys[count] = -total * span + n
    count++
  }
  return { positions: positions.subarray(0, count), keys: keys.subarray(0, count) }
}

/**
 * Rows put in order on the first read: the picker shows ~20, so the best TOP are picked out of all
 * the matches (one pass over them) and only those sorted. Reading past them (scrolling down) sorts
 * the rest once. Sorting every match on each keystroke cost 1.5–3 ms of the first keystroke's budget.
 */
const TOP = 64

function createRanking(index: SearchIndex, keys: Float64Array, isCurrent = () => true): Ranking {
  let ordered = 0
  const orderUpTo = (end: number) => {
    if (end <= ordered) return
    const top = Math.max(end, TOP)
    if (ordered === 0 && top * 4 < keys.length) {
      moveSmallestFirst(keys, top)
      keys.subarray(0, top).sort()
      ordered = top
    } else {
      keys.subarray(ordered).sort()
      ordered = keys.length
    }
  }
  const { instances, span } = index
  const ranked = (key: number): Ranked => {
    // key = -score × span + position, 0 ≤ position < span (a remainder, made non-negative)
    const position = ((key % span) + span) % span
    return { instance: instances[position]!, score: (position - key) / span }
  }
  const checkCurrent = () => {
    if (!isCurrent()) throw new Error('a Ranking was read after its ranker had moved on to another query')
  }
  return {
    length: keys.length,
    at(i) {
      checkCurrent()
      if (i < 0 || i >= keys.length) return undefined
      orderUpTo(i + 1)
      return ranked(keys[i]!)
    },
    slice(start, end) {
      checkCurrent()
      const stop = Math.min(end, keys.length)
      orderUpTo(stop)
      const out: Ranked[] = []
      for (let i = Math.max(0, start); i < stop; i++) out.push(ranked(keys[i]!))
      return out
    },
  }
}

/** Moves the k smallest keys to keys[0] … keys[k - 1] (in no particular order), with a max-heap of k. */
function moveSmallestFirst(keys: Float64Array, k: number): void {
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(keys, i, k)
  for (let i = k; i < keys.length; i++) {
    const key = keys[i]!
    if (key >= keys[0]!) continue
    keys[i] = keys[0]!
    keys[0] = key
    siftDown(keys, 0, k)
  }
}

function siftDown(heap: Float64Array, from: number, size: number): void {
  const key = heap[from]!
  let i = from
  for (;;) {
    let child = 2 * i + 1
    if (child >= size) break
    if (child + 1 < size && heap[child + 1]! > heap[child]!) child++
    if (heap[child]! <= key) break
    heap[i] = heap[child]!
    i = child
  }
  heap[i] = key
}

/** Instances matching every term of `query`, best first; ties: online first, then name (lower case), then id. */
export function rank(index: SearchIndex, query: string): Ranked[] {
  const matches = findMatches(index, query, undefined, createMatchBuffer(index.instances.length))
  const ranking = createRanking(index, matches.keys)
  return ranking.slice(0, ranking.length)
}

/**
 * rank() for a person typing: when the query only grows, every match of the longer query is among
 * the matches of the shorter one, so only those are scored again (the first character matches most
 * of the fleet; the next ones cut it down). A Ranking it returns can be read until the next call.
 */
export function createIncrementalRanker(index: SearchIndex): (query: string) => Ranking {
  // Two buffers taking turns: a keystroke reads the last one's matches and writes the other. A new
  // Int32Array and Float64Array per keystroke (120 KB at 10,000) made V8 collect garbage for
  // "external memory pressure" every few hundred keystrokes, adding 3–7 ms to that keystroke.
  const buffers = [createMatchBuffer(index.instances.length), createMatchBuffer(index.instances.length)]
  let turn = 0
  let calls = 0
  let lastQuery = ''
  let last: Matches | undefined
  return (query) => {
    const grows =
      last !== undefined &&
      lastQuery !== '' &&
      query.startsWith(lastQuery) &&
      !/\s/.test(query.slice(lastQuery.length))
    turn = 1 - turn
    last = findMatches(index, query, grows ? last?.positions : undefined, buffers[turn]!)
    lastQuery = query
    const call = ++calls
    return createRanking(index, last.keys, () => call === calls)
  }
}

/**
 * Made-up instances whose fields take every path of the scorer: runs, gaps, word starts found by
 * jumping ahead, the left-most fallback ("ab" in "cab-a"), exact names, digits, "=", non-ASCII,
 * misses. 400 of them, so a one-character query picks its top rows out of more than 4 × TOP.
 */
function createPracticeFleet(): Instance[] {
  const rooms = ['kitchen', 'garage', 'attic', 'hall', 'cab-a', 'ab', 'küche']
  return Array.from({ length: 400 }, (_, n): Instance => {
    const name = n % 50 === 0 ? 'ab' : `pi-${rooms[n % rooms.length]}-${n}`
    return {
      id: `mi-${n.toString(16).padStart(17, 'e')}`,
      name,
      computerName: `${name}.local`,
      ipAddress: `192.168.${n >> 8}.${n & 255}`,
      pingStatus: n % 9 === 0 ? 'ConnectionLost' : 'Online',
      platform: '',
      agentVersion: '',
      resourceType: '',
      tags: { Name: name, env: n % 2 === 0 ? 'prod' : 'staging' },
    }
  })
}

/** typed a character at a time, as the picker sees them; the space starts a new term */
const PRACTICE_QUERIES = ['pi-kit', 'pkt', 'ab', 'cab-a', '192.168.1.1', 'env=prod', 'küche', 'pi a 1', 'zq']

/**
 * Runs the ranker the way typing does, first over made-up instances that take every path of the
 * code, then over the real fleet, so V8 has optimised it before the first real keystroke. A path
 * first taken by a real keystroke (an exact name, a jump to a word start) threw the optimised code
 * away in the middle of that keystroke: 10,000 instances then took 14–25 ms instead of 1–3 ms. The
 * picker calls this right after its first paint, while the person reads the screen.
 */
export function warmUpRanker(index: SearchIndex): void {
  const practice = buildIndex(createPracticeFleet())
  for (let round = 0; round < 4; round++) {
    for (const query of PRACTICE_QUERIES) {
      const typing = createIncrementalRanker(practice)
      for (let i = 1; i <= query.length; i++) {
        const ranking = typing(query.slice(0, i))
        ranking.slice(0, 20)
        ranking.at(ranking.length - 1)
      }
    }
    rank(practice, 'a')
  }
  // the real fleet's own strings; letters that are in no id or IP, so most fields miss fast
  const typing = createIncrementalRanker(index)
  for (const query of ['r', 'ra', 'ra-', 'ra-1']) typing(query).slice(0, 20)
}
