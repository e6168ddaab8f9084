import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { unifiedDiff } from './text-diff.ts'

/** Apply our diff with patch(1): the real consumer of the format. */
function applies(before: string, after: string): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-diff-'))
  writeFileSync(join(dir, 'f'), before)
  const diff = unifiedDiff(before, after, 'f')
  if (diff === '') return before === after
  writeFileSync(join(dir, 'p'), diff)
  execFileSync('patch', ['-s', '-p0', join(dir, 'f'), join(dir, 'p')], { cwd: dir, stdio: 'ignore' })
  return execFileSync('cat', [join(dir, 'f')], { encoding: 'utf8' }) === after
}

describe('config --dry-run shows a real diff (it printed a set difference labelled "(new)")', () => {
  it('context lines, hunks and counts as diff -u writes them', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\n'
    const after = 'a\nb\nc\nD\ne\nf\ng\nh\ni\n'
    expect(unifiedDiff(before, after, 'config')).toBe(
      [
        '--- config',
        '+++ config (after ssm-ssh config)',
        '@@ -1,8 +1,9 @@',
        ' a',
        ' b',
        ' c',
        '-d',
        '+D',
        ' e',
        ' f',
        ' g',
        ' h',
        '+i',
        '',
      ].join('\n'),
    )
  })

  it('a moved or repeated line is a change where it moved (a set difference hid it)', () => {
    const d = unifiedDiff('x\ny\nx\n', 'y\nx\nx\n', 'c')
    expect(d).toContain('-x')
    expect(d).toContain('+x')
  })

  it('patch(1) turns before into after, for any pair of texts', () => {
    const text = fc
      .array(fc.constantFrom('Host a', 'Host b', '  User pi', '  HostName mi-1', '', '# c'), {
        maxLength: 30,
      })
      .chain((lines) => fc.constantFrom(`${lines.join('\n')}\n`, lines.join('\n')))
    fc.assert(
      fc.property(text, text, (before, after) => applies(before, after)),
      { numRuns: 60 },
    )
  })
})
