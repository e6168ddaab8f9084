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

const SEPARATORS = new Set([' ', '\t', '.', '_', ':', '=', '/', '@', '-'])
const isBoundary = (text: string, i: number) => i === 0 || SEPARATORS.has(text[i - 1] as string)

/** Score of `pattern` in `text` (both lower case), or -1 when the characters are not all there in order. */
export function fuzzyScore(pattern: string, text: string): number {
  if (pattern.length === 0) return 0
  if (pattern.length > text.length) return -1
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
    const ch = pattern[pi]
    let found = -1
    for (let j = ti; j < text.length; j++) {
      if (text[j] !== ch) continue
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
}

export function buildIndex(instances: Instance[]): SearchIndex[] {
  return instances.map((instance) => ({
    instance,
    fields: [
      instance.name.toLowerCase(),
      instance.computerName.toLowerCase(),
      instance.id.toLowerCase(),
      instance.ipAddress,
      ...Object.entries(instance.tags).map(([k, v]) => `${k}=${v}`.toLowerCase()),
    ],
  }))
}

export interface Ranked {
  instance: Instance
  score: number
  entry: SearchIndex
}

/** Instances matching every term of `query`, best first; ties keep online first, then name order. */
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
  const online = (i: Instance) => (i.pingStatus === 'Online' ? 0 : 1)
  out.sort(
    (a, b) =>
      b.score - a.score ||
      online(a.instance) - online(b.instance) ||
      a.instance.name.localeCompare(b.instance.name) ||
      a.instance.id.localeCompare(b.instance.id),
  )
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
