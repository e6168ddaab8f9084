// fzf-style fuzzy ranking over what people remember of an instance: name, ComputerName, id, IP, tags.
// A query matches when its characters appear in order; consecutive runs, word starts and an exact
// prefix score higher, gaps score lower. Space-separated terms must all match (any field).
import type { Instance } from './instance.ts'

const SCORE_MATCH = 16
const BONUS_BOUNDARY = 10
const BONUS_CONSECUTIVE = 8
const BONUS_PREFIX = 24
const BONUS_EXACT = 60
const PENALTY_GAP = 1

// A lookup table by char code: this runs ~100,000 times a keystroke at 10,000 instances.
const SEPARATOR = new Uint8Array(128)
for (const ch of ' \t._:=/@-') SEPARATOR[ch.charCodeAt(0)] = 1
const isBoundary = (text: string, i: number) => i === 0 || SEPARATOR[text.charCodeAt(i - 1)] === 1

/** Score of `pattern` in `text` (both lower case), or -1 when the characters are not all there in order. */
export function fuzzyScore(pattern: string, text: string): number {
  if (pattern.length === 0) return 0
  if (pattern.length > text.length) return -1
  // most fields lack the first character: one native scan instead of two aligned ones
  if (text.indexOf(pattern[0] as string) === -1) return -1
  // Jumping ahead to a word start can skip the only place the rest would match ("ab" in "cab-a"):
  // then score the plain left-most alignment instead.
  const preferred = alignAndScore(pattern, text, true)
  return preferred >= 0 ? preferred : alignAndScore(pattern, text, false)
}

/** Greedy forward alignment (O(n) per field), scored; -1 when the characters are not all there. */
function alignAndScore(pattern: string, text: string, preferBoundaries: boolean): number {
  let score = 0
  let ti = 0
  let last = -2
  for (let pi = 0; pi < pattern.length; pi++) {
    const ch = pattern.charCodeAt(pi)
    let found = -1
    for (let j = ti; j < text.length; j++) {
      if (text.charCodeAt(j) !== ch) continue
      if (found === -1) found = j
      // take the first occurrence, unless a later one continues a run or starts a word
      if (!preferBoundaries || j === last + 1 || isBoundary(text, j)) {
        found = j
        break
      }
    }
    if (found === -1) return -1
    score += SCORE_MATCH
    if (found === last + 1) score += BONUS_CONSECUTIVE
    else if (pi > 0) score -= PENALTY_GAP * Math.min(found - last - 1, 10)
    if (isBoundary(text, found)) score += BONUS_BOUNDARY
    last = found
    ti = found + 1
  }
  if (text.startsWith(pattern)) score += BONUS_PREFIX
  if (text === pattern) score += BONUS_EXACT
  return score
}

export interface SearchIndex {
  instance: Instance
  /** lower-cased fields; the name first (it weighs most) */
  fields: string[]
  /** position in the tie order (online first, then name, then id), computed once per index */
  order: number
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

export function buildIndex(instances: Instance[]): SearchIndex[] {
  const index = instances.map((instance) => ({
    instance,
    order: 0,
    fields: [
      instance.name.toLowerCase(),
      instance.computerName.toLowerCase(),
      instance.id.toLowerCase(),
      instance.ipAddress,
      ...Object.entries(instance.tags).map(([k, v]) => `${k}=${v}`.toLowerCase()),
    ],
  }))
  // Ties are broken here once, so a keystroke's sort compares numbers only (sorting 10,000 ties
  // with string comparisons took ~30 ms on the first keystroke).
  const online = (e: SearchIndex) => (e.instance.pingStatus === 'Online' ? 0 : 1)
  const sorted = [...index].sort(
    (a, b) =>
      online(a) - online(b) ||
      byCodeUnits(a.fields[0] as string, b.fields[0] as string) ||
      byCodeUnits(a.instance.id, b.instance.id),
  )
  sorted.forEach((e, n) => {
    e.order = n
  })
  return index
}

export interface Ranked {
  instance: Instance
  score: number
  entry: SearchIndex
}

/** Instances matching every term of `query`, best first; ties: online first, then name (lower case), then id. */
export function rank(index: SearchIndex[], query: string): Ranked[] {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean)
  const out: Ranked[] = []
  for (const entry of index) {
    let total = 0
    let ok = true
    for (const term of terms) {
      let best = -1
      for (let f = 0; f < entry.fields.length; f++) {
        const s = fuzzyScore(term, entry.fields[f] as string)
        // the name outranks other fields for the same match quality
        if (s >= 0) best = Math.max(best, f === 0 ? s + 5 : s)
      }
      if (best < 0) {
        ok = false
        break
      }
      total += best
    }
    if (ok) out.push({ instance: entry.instance, score: total, entry })
  }
  out.sort((a, b) => b.score - a.score || a.entry.order - b.entry.order)
  return out
}

/**
 * rank() for a person typing: when the query only grows, every match of the longer query is among
 * the matches of the shorter one, so only those are scored again (the first character matches most
 * of the fleet; the next ones cut it down).
 */
export function createIncrementalRanker(index: SearchIndex[]): (query: string) => Ranked[] {
  let lastQuery = ''
  let lastResults: Ranked[] | undefined
  return (query) => {
    const grows =
      lastResults !== undefined &&
      lastQuery !== '' &&
      query.startsWith(lastQuery) &&
      !/\s/.test(query.slice(lastQuery.length))
    const pool = grows ? (lastResults as Ranked[]).map((r) => r.entry) : index
    lastResults = rank(pool, query)
    lastQuery = query
    return lastResults
  }
}

/**
 * Runs the ranker the way typing does (one character, then longer, then two terms) so V8 has
 * optimised it before the first real keystroke: cold, the first four keystrokes over 10,000
 * instances took 20–30 ms; warmed, under 16 ms. The picker calls this right after its first paint,
 * while the person reads the screen. Uses letters that are not in any id or IP, so most fields miss
 * fast and the warm-up stays short.
 */
export function warmUpRanker(index: SearchIndex[]): void {
  const typing = createIncrementalRanker(index)
  for (const q of ['r', 'ra', 'ra-', 'ra-1']) typing(q)
  rank(index, 'q z')
}
