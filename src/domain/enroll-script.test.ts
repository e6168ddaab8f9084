import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  type EnrollValues,
  enrollValuesProblem,
  parseEnrollReport,
  renderEnrollScript,
} from './enroll-script.ts'

const template = readFileSync(join(import.meta.dirname, '../../templates/enroll.sh'), 'utf8')
const values: EnrollValues = {
  activation: { id: '0b2f3a10-4c5d-4e6f-8a9b-0c1d2e3f4a5b', code: 'Ab+cdefghij0123456789/XYZ=' },
  region: 'eu-west-1',
  packageUrl: 'https://example.invalid/debian_{arch}/amazon-ssm-agent.deb',
  packageSha256: 'a'.repeat(64),
  mode: 'enroll',
}

describe('the enrolment script', () => {
  it('puts every value in single quotes and leaves no placeholder', () => {
    const script = renderEnrollScript(template, values)
    expect(script).not.toMatch(/__[A-Z0-9_]+__/)
    expect(script).toContain(`ACTIVATION_CODE='Ab+cdefghij0123456789/XYZ='`)
    expect(script).toContain(`ACTIVATION_ID='0b2f3a10-4c5d-4e6f-8a9b-0c1d2e3f4a5b'`)
    expect(script).toContain(`PACKAGE_URL='https://example.invalid/debian_{arch}/amazon-ssm-agent.deb'`)
    expect(script).toContain(`MODE='enroll'`)
    expect(script).toContain(`FORCE='no'`)
    expect(script).toContain(`EXPECT_HOST=''`)
    // a POSIX shell parses it
    execFileSync('sh', ['-n'], { input: script })
  })

  it('refuses values that could break out of the quoting or mean something else', () => {
    const bad: Array<Partial<EnrollValues>> = [
      { activation: { id: values.activation.id, code: "abc'; rm -rf / #abcdefghijkl" } },
      { activation: { id: '../../etc/passwd', code: values.activation.code } },
      { packageUrl: 'https://x.invalid/$(reboot)' },
      { packageUrl: 'ftp://x.invalid/agent.deb' },
      { packageUrl: "https://x.invalid/a'b" },
      { packageSha256: 'not-hex' },
      { region: 'eu-west-1; reboot' },
      { expectHost: 'pi;reboot' },
    ]
    for (const over of bad) {
      const v = { ...values, ...over }
      expect(enrollValuesProblem(v), JSON.stringify(over)).toBeDefined()
      expect(() => renderEnrollScript(template, v)).toThrow()
    }
  })

  it('as a user it changes nothing and says why on its marked line', () => {
    const script = renderEnrollScript(template, values)
    // as nobody when the tests run as root
    const [cmd, args] =
      process.getuid?.() === 0
        ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-s']]
        : ['sh', ['-s']]
    const run = spawnSync(cmd as string, args as string[], { input: script })
    expect(run.status).toBe(1)
    expect(parseEnrollReport(run.stdout.toString())).toEqual({
      kind: 'failed',
      reason: 'not root (run it with sudo)',
    })
  })

  it('reads the marked line', () => {
    expect(
      parseEnrollReport('noise\nSSM_SSH_ENROLL registered id=mi-0123456789abcdef0 previous=- host=pi-1\n'),
    ).toEqual({ kind: 'registered', id: 'mi-0123456789abcdef0', host: 'pi-1' })
    expect(
      parseEnrollReport(
        'SSM_SSH_ENROLL registered id=mi-0123456789abcdef1 previous=mi-0123456789abcdef0 host=a',
      ),
    ).toEqual({ kind: 'registered', id: 'mi-0123456789abcdef1', previous: 'mi-0123456789abcdef0', host: 'a' })
    expect(parseEnrollReport('SSM_SSH_ENROLL already id=mi-0123456789abcdef0 host=pi-1')).toEqual({
      kind: 'already',
      id: 'mi-0123456789abcdef0',
      host: 'pi-1',
    })
    expect(parseEnrollReport('SSM_SSH_ENROLL elsewhere host=pi-2')).toEqual({
      kind: 'elsewhere',
      host: 'pi-2',
    })
    expect(parseEnrollReport('SSM_SSH_ENROLL failed not root (run it with sudo)')).toEqual({
      kind: 'failed',
      reason: 'not root (run it with sudo)',
    })
    expect(parseEnrollReport('SSM_SSH_ENROLL registered id=$(reboot) host=x').kind).toBe('failed')
    expect(parseEnrollReport('bash: sudo: command not found\n')).toEqual({
      kind: 'failed',
      reason: 'no report from the script: bash: sudo: command not found',
    })
  })
})
