// ls --filter: status=Online, platform=raspbian, tag:Key=Value, or free text (fuzzy, as in pick).
import { UsageError } from '../support/errors.ts'
import type { Instance } from './instance.ts'
import { buildIndex, rank } from './rank.ts'

export type Filter =
  | { kind: 'status' | 'platform'; value: string }
  | { kind: 'tag'; key: string; value: string }
  | { kind: 'text'; value: string }

const STATUSES = ['Online', 'ConnectionLost', 'Inactive']
const FILTER_HINT =
  'use status=Online|ConnectionLost|Inactive, platform=TEXT, tag:KEY=VALUE, or words to match'

/** One --filter; a KEY=VALUE with a key we do not know, or a status that does not exist, is an error, not an empty list. */
export function parseFilter(text: string): Filter {
  const tag = /^tag:([^=]+)=(.*)$/.exec(text)
  if (tag) return { kind: 'tag', key: tag[1] as string, value: tag[2] as string }
  const kv = /^([A-Za-z][\w-]*)=(.*)$/.exec(text)
  if (!kv) return { kind: 'text', value: text }
  const key = (kv[1] as string).toLowerCase()
  const value = kv[2] as string
  if (key === 'status') {
    const status = STATUSES.find((s) => s.toLowerCase() === value.toLowerCase())
    if (!status) throw new UsageError(`--filter ${text}: no such status`, { hint: FILTER_HINT })
    return { kind: 'status', value: status }
  }
  if (key === 'platform' && value !== '') return { kind: 'platform', value }
  if (key === 'tag') throw new UsageError(`--filter ${text}: write tag:KEY=VALUE`, { hint: FILTER_HINT })
  throw new UsageError(`--filter ${text}: unknown filter "${kv[1]}"`, { hint: FILTER_HINT })
}

export function applyFilters(instances: Instance[], filters: Filter[]): Instance[] {
  let out = instances
  for (const f of filters) {
    if (f.kind === 'status') out = out.filter((i) => i.pingStatus.toLowerCase() === f.value.toLowerCase())
    else if (f.kind === 'platform')
      out = out.filter((i) => i.platform.toLowerCase().includes(f.value.toLowerCase()))
    else if (f.kind === 'tag') out = out.filter((i) => i.tags[f.key] === f.value)
    else out = rank(buildIndex(out), f.value).map((r) => r.instance)
  }
  return out
}
