import { describe, expect, it } from 'vitest'
import { type ConfigFiles, hostPatterns, patternRegExp } from './host-patterns.ts'

/** A fake file system: paths to texts; a directory lists the names directly under it. */
function filesOf(tree: Record<string, string>): ConfigFiles {
  return {
    read: async (path) => tree[path],
    list: async (dir) =>
      Object.keys(tree)
        .filter((p) => p.startsWith(`${dir}/`) && !p.slice(dir.length + 1).includes('/'))
        .map((p) => p.slice(dir.length + 1)),
  }
}
const where = { home: '/home/u', relativeTo: '/home/u/.ssh' }

describe('hostPatterns', () => {
  it('collects Host patterns, negated ones too, through relative, ~ and globbed Includes', async () => {
    const files = filesOf({
      '/home/u/.ssh/work': 'Host build-*\n  User me\n',
      '/home/u/extra/a.conf': 'Host=lab?\n',
      '/home/u/extra/b.conf': 'Host "quoted name"\nInclude nested\n',
      '/home/u/extra/.hidden.conf': 'Host hidden\n',
      '/home/u/.ssh/nested': '# a comment\n\nHost deep\n',
    })
    const text = 'Host * !pi-*\n  User x\nInclude work ~/extra/*.conf missing\nMatch all\n'
    expect(await hostPatterns(text, files, where)).toEqual([
      '*',
      'pi-*',
      'build-*',
      'lab?',
      'quoted name',
      'deep',
    ])
  })

  it('is unknown when more than the name could decide', async () => {
    const files = filesOf({ '/home/u/.ssh/loop': 'Include loop\n' })
    for (const text of [
      'Match host pi-*\n  HostName x\n',
      'Match exec "true"\n',
      'CanonicalizeHostname yes\n',
      'Include %d/.ssh/other\n',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ssh's own ${VAR} syntax, not a template
      'Include ${HOME}/x\n',
      'Include /etc/*/x\n',
      'Include loop\n',
    ])
      expect(await hostPatterns(text, files, where), text).toBeUndefined()
    expect(await hostPatterns('CanonicalizeHostname no\nHost a\n', files, where)).toEqual(['a'])
    // a file it cannot read (a directory, no permission): unknown, not skipped as if missing
    const unreadable: ConfigFiles = {
      read: async () => Promise.reject(Object.assign(new Error('EISDIR'), { code: 'EISDIR' })),
      list: async () => [],
    }
    expect(await hostPatterns('Include somewhere\n', unreadable, where)).toBeUndefined()
  })

  it('matches names as ssh does: * and ?, case-insensitive, nothing else special', () => {
    expect(patternRegExp('pi-*').test('pi-kitchen')).toBe(true)
    expect(patternRegExp('PI-?').test('pi-1')).toBe(true)
    expect(patternRegExp('pi-?').test('pi-10')).toBe(false)
    expect(patternRegExp('a.b').test('axb')).toBe(false)
    expect(patternRegExp('(x)+').test('(x)+')).toBe(true)
  })
})
