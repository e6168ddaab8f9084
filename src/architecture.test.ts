// The layering of shared/docs/style.md, checked on every import of src/: commands use everything
// below them, the pure layers (protocol, support) import nothing of ours, only the sandbox's own
// commands load the sandbox, and only main.ts exits or touches stdout and the console.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const src = dirname(fileURLToPath(import.meta.url))

/** What each top-level part of src/ may import besides itself. */
const ALLOWED: Record<string, string[]> = {
  'main.ts': ['cli', 'support'],
  boot: ['support'],
  cli: ['commands', 'support'],
  commands: ['cli', 'domain', 'aws', 'transport', 'ssh', 'ui', 'support', 'sandbox'],
  domain: ['support'],
  aws: ['domain', 'support'],
  transport: ['protocol', 'support'],
  ssh: ['domain', 'support'],
  ui: ['domain', 'support'],
  sandbox: ['protocol', 'support'],
  protocol: [],
  support: [],
}
/** The demo and the sandbox command are the only product code that may start the sandbox. */
const SANDBOX_USERS = new Set(['commands/demo.ts', 'commands/sandbox.ts'])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return /\.ts$/.test(entry.name) && !/\.(test|d)\.ts$/.test(entry.name) ? [path] : []
  })
}

const partOf = (file: string) => relative(src, file).split('/')[0] as string

const files = sourceFiles(src).map((path) => ({
  path,
  name: relative(src, path),
  text: readFileSync(path, 'utf8'),
}))

describe('architecture', () => {
  it('knows every part of src/', () => {
    expect(new Set(files.map((f) => partOf(f.path)))).toEqual(new Set(Object.keys(ALLOWED)))
  })

  it('imports flow one way', () => {
    const wrong: string[] = []
    for (const file of files) {
      const from = partOf(file.path)
      for (const [, spec] of file.text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = relative(src, resolve(dirname(file.path), spec as string))
        const to = target.split('/')[0] as string
        if (to === from) continue
        if (!ALLOWED[from]?.includes(to)) wrong.push(`${file.name} imports ${target}`)
        if (to === 'sandbox' && !SANDBOX_USERS.has(file.name)) wrong.push(`${file.name} loads the sandbox`)
      }
    }
    expect(wrong).toEqual([])
  })

  it('only main.ts exits, writes stdout or uses the console', () => {
    const offenders = files
      .filter((f) => f.name !== 'main.ts' && /process\.exit|process\.stdout|console\./.test(f.text))
      .map((f) => f.name)
    expect(offenders).toEqual([])
  })
})
