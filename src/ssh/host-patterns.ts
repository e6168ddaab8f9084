// Which names could an ssh config treat apart from any other? Only those its Host patterns match. A
// name no pattern mentions (beyond `*`) gets exactly what any other such name gets, so `ssh -G` need
// run once for all of them instead of once each (10,000 aliases: 30 s of ssh -G). When the config
// could decide on more than the name — a Match other than `Match all`, hostname canonicalisation
// (DNS), an Include this cannot follow — the answer is "unknown" and every name is asked.
import { isAbsolute, join } from 'node:path'

/**
 * What reading the config needs: a file's text (undefined: it does not exist; a rejection: it cannot
 * be read), a directory's names.
 */
export interface ConfigFiles {
  read(path: string): Promise<string | undefined>
  list(dir: string): Promise<string[]>
}

const MAX_DEPTH = 16

/** ssh's pattern (`*`, `?`) as a regular expression; names are compared lower-case, as ssh does. */
export function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${body}$`)
}

/** A config line's keyword (lower-case) and its arguments, double quotes removed; undefined for none. */
function parseLine(line: string): { keyword: string; args: string[] } | undefined {
  const trimmed = line.trim()
  if (trimmed === '' || trimmed.startsWith('#')) return undefined
  const m = /^([^\s=]+)\s*(?:=\s*|\s)(.*)$/.exec(trimmed) ?? /^([^\s=]+)$/.exec(trimmed)
  if (!m) return undefined
  const args = [...(m[2] ?? '').matchAll(/"([^"]*)"|(\S+)/g)].map((a) => a[1] ?? a[2] ?? '')
  return { keyword: (m[1] as string).toLowerCase(), args }
}

/**
 * Every Host pattern (negated ones without their `!`) in `text` and the files it includes, or
 * undefined when more than the name could decide. Relative Includes are looked up in `relativeTo`
 * (~/.ssh for a user's file, /etc/ssh for the system's), `~` is `home`.
 */
export async function hostPatterns(
  text: string,
  files: ConfigFiles,
  where: { home: string; relativeTo: string },
  depth = 0,
): Promise<string[] | undefined> {
  if (depth > MAX_DEPTH) return undefined
  const patterns: string[] = []
  for (const line of text.split(/\r?\n/)) {
    const parsed = parseLine(line)
    if (!parsed) continue
    const { keyword, args } = parsed
    if (keyword === 'host') patterns.push(...args.map((a) => a.replace(/^!/, '')))
    else if (keyword === 'match') {
      if (args.length !== 1 || args[0]?.toLowerCase() !== 'all') return undefined
    } else if (keyword === 'canonicalizehostname') {
      if (args[0]?.toLowerCase() !== 'no') return undefined
    } else if (keyword === 'include') {
      for (const arg of args) {
        const paths = await includedPaths(arg, files, where)
        if (paths === undefined) return undefined
        for (const path of paths) {
          // a file that cannot be read (a directory, no permission): ssh's answer is its own to give
          const included = await files.read(path).catch(() => null)
          if (included === null) return undefined
          if (included === undefined) continue
          const more = await hostPatterns(included, files, where, depth + 1)
          if (more === undefined) return undefined
          patterns.push(...more)
        }
      }
    }
  }
  return patterns
}

/** The files an Include argument names, sorted as ssh's glob sorts them; undefined if not followed. */
async function includedPaths(
  arg: string,
  files: ConfigFiles,
  where: { home: string; relativeTo: string },
): Promise<string[] | undefined> {
  // tokens and environment variables could name anything
  if (/[%$]/.test(arg)) return undefined
  const expanded = arg.startsWith('~/') ? join(where.home, arg.slice(2)) : arg
  const path = isAbsolute(expanded) ? expanded : join(where.relativeTo, expanded)
  const slash = path.lastIndexOf('/')
  const dir = path.slice(0, slash) || '/'
  const base = path.slice(slash + 1)
  if (/[*?[]/.test(dir)) return undefined
  if (!/[*?[]/.test(base)) return [path]
  if (base.includes('[')) return undefined
  const re = new RegExp(
    `^${base
      .replace(/[.+^${}()|\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  )
  return (await files.list(dir))
    .filter((name) => !name.startsWith('.') && re.test(name))
    .sort()
    .map((name) => join(dir, name))
}
