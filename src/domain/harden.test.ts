import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  describeHost,
  type HardenAction,
  hardenDiff,
  parseHardenOutput,
  renderHardenScript,
  verdictOf,
} from './harden.ts'

const template = readFileSync(new URL('../../templates/harden.sh', import.meta.url), 'utf8')
const b64 = (text: string) => Buffer.from(text).toString('base64')
const AGENT = '# User rules for ssm-user\nssm-user ALL=(ALL) NOPASSWD:ALL\n'
const PI = 'pi ALL=(ALL) NOPASSWD: ALL\n'

describe('renderHardenScript', () => {
  it.each([
    ['apply', false, 'action=apply\npi=no\n'],
    ['dry-run', true, 'action=dry-run\npi=yes\n'],
    ['undo', false, 'action=undo\npi=no\n'],
  ] as const)('%s, pi %s', (action, piNopasswd, lines) => {
    const script = renderHardenScript(template, { action, piNopasswd })
    expect(script).toContain(lines)
    expect(script).not.toMatch(/__[A-Z_]+__/)
    // sh reads it (syntax only: nothing runs)
    execFileSync('/bin/sh', ['-n', '-c', script])
  })

  it('refuses a template without its placeholders', () => {
    expect(() => renderHardenScript('echo hi', { action: 'apply', piNopasswd: false })).toThrow(/__ACTION__/)
  })
})

describe('parseHardenOutput', () => {
  it('reads the files, the user, warnings and the first FAILED line', () => {
    const output = [
      'SSMUSER yes',
      `FILE ssm-agent-users change ${b64(AGENT)} ${b64('# none\n')}`,
      'FILE 010_pi-nopasswd unchanged - -',
      'WARN ssm-user may still use sudo through another rule',
      'FAILED first reason',
      'FAILED second reason',
      'DONE',
    ].join('\n')
    expect(parseHardenOutput(output)).toEqual({
      ssmUser: true,
      files: [
        { name: 'ssm-agent-users', state: 'change', before: AGENT, after: '# none\n' },
        { name: '010_pi-nopasswd', state: 'unchanged' },
      ],
      warnings: ['ssm-user may still use sudo through another rule'],
      failed: 'first reason',
      done: true,
    })
  })

  it.each([
    ['a file it may not touch', `FILE ../../etc/shadow change ${b64('x')} ${b64('y')}`],
    ['an unknown state', 'FILE ssm-agent-users rewritten - -'],
    ['too few fields', 'FILE ssm-agent-users change'],
    ['a lower-case word', 'file ssm-agent-users change - -'],
  ])('ignores %s', (_, line) => {
    expect(parseHardenOutput(line).files).toEqual([])
  })

  it('content that is not base64 counts as none', () => {
    expect(parseHardenOutput('FILE ssm-agent-users create - not%base64').files).toEqual([
      { name: 'ssm-agent-users', state: 'create' },
    ])
  })

  it('a report cut short is not done', () => {
    expect(parseHardenOutput('SSMUSER yes\nFILE ssm-agent-users unchanged - -\nDON').done).toBe(false)
  })

  it('an empty output: no files, no verdict of its own', () => {
    expect(parseHardenOutput('')).toEqual({ files: [], warnings: [], done: false })
  })
})

describe('a host row', () => {
  const changed = parseHardenOutput(
    `SSMUSER no\nFILE ssm-agent-users create - ${b64('# none\n')}\nFILE 010_pi-nopasswd change ${b64(PI)} ${b64('pi ALL=(ALL) PASSWD: ALL\n')}`,
  )
  const same = parseHardenOutput('SSMUSER yes\nFILE ssm-agent-users unchanged - -')
  const undone = parseHardenOutput(
    `FILE ssm-agent-users remove ${b64('# none\n')} -\nFILE 010_pi-nopasswd restore ${b64('pi ALL=(ALL) PASSWD: ALL\n')} ${b64(PI)}`,
  )

  it.each([
    [
      changed,
      'apply',
      'changed',
      'ssm-agent-users created as a comment, 010_pi-nopasswd hardened (no ssm-user yet: the agent will make one without sudo)',
    ],
    [
      changed,
      'dry-run',
      'changed',
      'ssm-agent-users would be created as a comment, 010_pi-nopasswd would be hardened (no ssm-user yet: the agent will make one without sudo)',
    ],
    [same, 'apply', 'unchanged', 'ssm-agent-users already hardened'],
    [
      undone,
      'undo',
      'changed',
      'ssm-agent-users removed (harden had created it), 010_pi-nopasswd restored from the backup',
    ],
    [parseHardenOutput(''), 'undo', 'unchanged', 'nothing to undo'],
  ] as const)('%#: %s → %s', (report, action, verdict, text) => {
    expect(verdictOf(report)).toBe(verdict)
    expect(describeHost(report, action as HardenAction)).toBe(text)
  })

  it('diffs what changed, /dev/null for a file that was or will be no more', () => {
    expect(hardenDiff(changed, 'dry-run')).toBe(
      [
        '--- /dev/null',
        '+++ /etc/sudoers.d/ssm-agent-users (after ssm-ssh harden)',
        '@@ -0,0 +1,1 @@',
        '+# none',
        '--- /etc/sudoers.d/010_pi-nopasswd',
        '+++ /etc/sudoers.d/010_pi-nopasswd (after ssm-ssh harden)',
        '@@ -1,1 +1,1 @@',
        '-pi ALL=(ALL) NOPASSWD: ALL',
        '+pi ALL=(ALL) PASSWD: ALL',
        '',
      ].join('\n'),
    )
    expect(hardenDiff(undone, 'undo')).toBe(
      [
        '--- /etc/sudoers.d/ssm-agent-users',
        '+++ /dev/null (after ssm-ssh harden --undo)',
        '@@ -1,1 +0,0 @@',
        '-# none',
        '--- /etc/sudoers.d/010_pi-nopasswd',
        '+++ /etc/sudoers.d/010_pi-nopasswd (after ssm-ssh harden --undo)',
        '@@ -1,1 +1,1 @@',
        '-pi ALL=(ALL) PASSWD: ALL',
        '+pi ALL=(ALL) NOPASSWD: ALL',
        '',
      ].join('\n'),
    )
    expect(hardenDiff(same, 'apply')).toBe('')
  })
})

/** One of the template's own functions, run by sh on `input` (they are pure text filters). */
function runTemplateFunction(name: string, input: string): string {
  const start = template.indexOf(`\n${name}() {`)
  const body = template.slice(start, template.indexOf('\n}\n', start) + 3)
  const headers = template.split('\n').filter((l) => /^header\d=/.test(l))
  return execFileSync('/bin/sh', ['-c', [...headers, body, name].join('\n')], { input, encoding: 'utf8' })
}

describe("the template's filters", () => {
  const HEADER =
    '# User rules for ssm-user: none. ssm-ssh harden made them comments; keep this file, since\n' +
    '# amazon-ssm-agent writes "ssm-user ALL=(ALL) NOPASSWD:ALL" here only when it is missing.\n'

  it.each([
    ['the agent’s file', AGENT, `${HEADER}# User rules for ssm-user\n# ssm-user ALL=(ALL) NOPASSWD:ALL\n`],
    ['no file', '', HEADER],
    [
      'a user by uid (#1002) is a rule, not a comment',
      '#1002 ALL=(ALL) ALL\n',
      `${HEADER}# #1002 ALL=(ALL) ALL\n`,
    ],
    [
      '#include and #includedir are directives',
      '#includedir /x\n#include /y\n',
      `${HEADER}# #includedir /x\n# #include /y\n`,
    ],
    [
      'Defaults and continued lines',
      'Defaults:ssm-user !lecture\nssm-user ALL=\\\n  ALL\n',
      `${HEADER}# Defaults:ssm-user !lecture\n# ssm-user ALL=\\\n#   ALL\n`,
    ],
    ['blank lines and comments stay', '\n# note\n', `${HEADER}\n# note\n`],
    ['no final newline', 'ssm-user ALL=(ALL) ALL', `${HEADER}# ssm-user ALL=(ALL) ALL\n`],
  ])('harden_ssm: %s', (_, input, output) => {
    expect(runTemplateFunction('harden_ssm', input)).toBe(output)
    // a second run gives the same bytes: harden changes nothing the second time
    expect(runTemplateFunction('harden_ssm', output)).toBe(output)
  })

  it.each([
    ['Raspberry Pi OS', PI, 'pi ALL=(ALL) PASSWD: ALL\n'],
    [
      'no space, a group, a uid',
      'pi ALL=(ALL) NOPASSWD:ALL\n%adm ALL=NOPASSWD : ALL\n#1000 ALL=(ALL) NOPASSWD: ALL\n',
      'pi ALL=(ALL) PASSWD:ALL\n%adm ALL=PASSWD: ALL\n#1000 ALL=(ALL) PASSWD: ALL\n',
    ],
    ['comments stay', '# pi ALL=(ALL) NOPASSWD: ALL\n', '# pi ALL=(ALL) NOPASSWD: ALL\n'],
  ])('harden_pi: %s', (_, input, output) => {
    expect(runTemplateFunction('harden_pi', input)).toBe(output)
    expect(runTemplateFunction('harden_pi', output)).toBe(output)
  })
})
