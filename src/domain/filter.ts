// ls --filter: status=Online, platform=raspbian, tag:Key=Value, or free text (fuzzy, as in pick).
import type { Instance } from './instance.ts'
import { buildIndex, rank } from './rank.ts'

export type Filter =
  | { kind: 'status' | 'platform'; value: string }
  | { kind: 'tag'; key: string; value: string }
  | { kind: 'text'; value: string }

export function parseFilter(text: string): Filter {
  const tag = /^tag:([^=]+)=(.*)$/.exec(text)
  if (tag) return { kind: 'tag', key: tag[1] as string, value: tag[2] as string }
  const kv = /^(status|platform)=(.+)$/i.exec(text)
  if (kv) return { kind: (kv[1] as string).toLowerCase() as 'status' | 'platform', value: kv[2] as string }
  return { kind: 'text', value: text }
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
