import { describe, expect, it } from 'vitest'
import { type HostRuleOptions, hostFindings, parseHostReport } from './host-report.ts'

const b64 = (s: string) => Buffer.from(s).toString('base64')
const options: HostRuleOptions = {
  target: 'mi-0123456789abcdef0',
  name: 'pi-kitchen',
  port: 22,
  expectedEndpoints: [],
}

/** What templates/doctor-host.sh prints on a healthy host. */
const healthy = [
  'DOCTOR 1',
  `HOSTNAME ${b64('pi-kitchen')}`,
  'ADDR 127.0.0.1',
  'ADDR 192.168.1.23',
  'LISTEN 22 sshd',
  'SSMUSER no',
  'AGENT yes',
  `CREDFILE ${b64('/root/.aws/credentials')} ${b64('default')} absent`,
  `HOSTKEY ssh-ed25519 SHA256:${'a'.repeat(43)}`,
  'END',
]
const findingsOf = (lines: string[], o = options) => {
  const report = parseHostReport(lines.join('\n'))
  if (!report) throw new Error('no report')
  return hostFindings(report, o)
}
const problems = (lines: string[], o = options) => findingsOf(lines, o).filter((f) => f.level !== 'ok')

describe('doctor host report', () => {
  it('a healthy host: only ok findings', () => {
    expect(problems(healthy)).toEqual([])
    const report = parseHostReport(healthy.join('\n'))
    expect(report?.hostname).toBe('pi-kitchen')
    expect(report?.addresses).toEqual(['127.0.0.1', '192.168.1.23'])
    expect(report?.complete).toBe(true)
  })

  it('is no report without its first line (a script that never ran, a foreign output)', () => {
    expect(parseHostReport('FAILED something\n')).toBeUndefined()
  })

  it('sshd: nothing on the port fails, another process warns', () => {
    const swap = (line: string) => healthy.map((l) => (l.startsWith('LISTEN') ? line : l))
    expect(problems(swap('LISTEN 22 no'))).toEqual([
      expect.objectContaining({
        check: 'sshd',
        level: 'fail',
        fix: expect.stringContaining('systemctl enable --now ssh'),
      }),
    ])
    expect(problems(swap('LISTEN 22 other'))[0]).toMatchObject({ check: 'sshd', level: 'warn' })
  })

  it('ssm-agent-users NOPASSWD is root access; 010_pi-nopasswd and others warn; files sudo skips are no finding', () => {
    const lines = [
      ...healthy.slice(0, -1),
      `NOPASSWD ${b64('ssm-agent-users')} ${b64('ssm-user ALL=(ALL) NOPASSWD:ALL')}`,
      `NOPASSWD ${b64('010_pi-nopasswd')} ${b64('pi ALL=(ALL) NOPASSWD: ALL')}`,
      `NOPASSWD ${b64('020_backup')} ${b64('backup ALL=(root) NOPASSWD: /usr/bin/rsync')}`,
      // sudo ignores names with a dot or ending in ~ (sudoers(5) #includedir)
      `NOPASSWD ${b64('old.bak')} ${b64('x ALL=(ALL) NOPASSWD: ALL')}`,
      `NOPASSWD ${b64('010_pi-nopasswd~')} ${b64('pi ALL=(ALL) NOPASSWD: ALL')}`,
      'END',
    ]
    expect(problems(lines).map((f) => [f.check, f.level, f.fix])).toEqual([
      ['ssm-user sudo', 'fail', 'ssm-ssh harden pi-kitchen'],
      ['NOPASSWD rule', 'warn', 'ssm-ssh harden pi-kitchen --pi-nopasswd'],
      ['NOPASSWD rule', 'warn', 'review it on the host: sudo visudo -f /etc/sudoers.d/020_backup'],
    ])
  })

  it("credentials shadowing the role: keys in the agent's environment or in its profile's file", () => {
    const env = [
      ...healthy.slice(0, -1),
      'AGENTENV AWS_ACCESS_KEY_ID',
      'AGENTENV AWS_SECRET_ACCESS_KEY',
      'END',
    ]
    expect(problems(env)).toEqual([
      expect.objectContaining({
        check: 'agent credentials',
        level: 'fail',
        why: "the agent's environment sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: they replace the instance's role",
      }),
    ])
    const file = healthy.map((l) =>
      l.startsWith('CREDFILE') ? `CREDFILE ${b64('/root/.aws/credentials')} ${b64('lab')} keys` : l,
    )
    expect(problems(file)[0]?.why).toBe(
      '/root/.aws/credentials holds keys for profile "lab": the agent uses them instead of the instance\'s role',
    )
    // only names of AWS_ variables are taken from the host, never a value
    const odd = [...healthy.slice(0, -1), 'AGENTENV AWS_SECRET_ACCESS_KEY=abc', 'END']
    expect(parseHostReport(odd.join('\n'))?.agentEnv).toEqual([])
  })

  it("endpoints: AWS's domains and expected ones are fine, another host warns", () => {
    const lines = [
      ...healthy.slice(0, -1),
      `ENDPOINT ${b64('Ssm')} ${b64('https://ssm.eu-west-1.amazonaws.com')}`,
      `ENDPOINT ${b64('Mgs')} ${b64('https://vpce-1.ssmmessages.eu-west-1.vpce.amazonaws.com')}`,
      `ENDPOINT ${b64('Mds')} ${b64('https://127.0.0.1:443')}`,
      `ENDPOINT ${b64('Kms')} ${b64('https://127.0.0.1:443')}`,
      `ENDPOINT ${b64('S3')} ${b64('https://amazonaws.com.evil.example')}`,
      'END',
    ]
    expect(problems(lines).map((f) => f.why)).toEqual([
      "the agent's Mds, Kms endpoints are https://127.0.0.1:443, not an AWS domain",
      "the agent's S3 endpoint is https://amazonaws.com.evil.example, not an AWS domain",
    ])
    expect(problems(lines, { ...options, expectedEndpoints: ['https://127.0.0.1:443/'] }).length).toBe(1)
  })

  it('values from the host stay text: a hostname with escape sequences is decoded, not obeyed', () => {
    const lines = healthy.map((l) => (l.startsWith('HOSTNAME') ? `HOSTNAME ${b64('pi\u001b]0;x\u0007')}` : l))
    expect(parseHostReport(lines.join('\n'))?.hostname).toBe('pi\u001b]0;x\u0007')
  })
})
