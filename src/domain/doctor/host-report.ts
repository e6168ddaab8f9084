// What templates/doctor-host.sh printed on one host, read back (every host value arrives base64 and
// stays untrusted text), and the findings it leads to: sshd, ssm-user's sudo, other NOPASSWD rules,
// credentials that shadow the instance's role (seed 001), the agent's endpoints, the host keys.
import { type Finding, fail, ok, warn } from './finding.ts'

export interface HostReport {
  hostname: string
  addresses: string[]
  listen?: { port: number; who: 'sshd' | 'other' | 'no' | 'unknown' }
  ssmUser?: { exists: boolean; groups: string[] }
  /** NOPASSWD rules: the sudoers file's name and the rule */
  nopasswd: Array<{ file: string; rule: string }>
  agentRunning?: boolean
  /** names of AWS_* variables in the agent's environment */
  agentEnv: string[]
  credentials?: { file: string; profile: string; state: 'keys' | 'nokeys' | 'absent' }
  endpoints: Array<{ section: string; url: string }>
  /** type → SHA256 fingerprint */
  hostKeys: Map<string, string>
  /** the script ran to its END line */
  complete: boolean
}

const decode = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8')

export function parseHostReport(output: string): HostReport | undefined {
  const lines = output.split('\n')
  if (!lines.includes('DOCTOR 1')) return undefined
  const report: HostReport = {
    hostname: '',
    addresses: [],
    nopasswd: [],
    agentEnv: [],
    endpoints: [],
    hostKeys: new Map(),
    complete: lines.includes('END'),
  }
  for (const line of lines) {
    const [tag, a, b, c] = line.split(' ')
    switch (tag) {
      case 'HOSTNAME':
        report.hostname = decode(a)
        break
      case 'ADDR':
        if (a && /^\d{1,3}(\.\d{1,3}){3}$/.test(a)) report.addresses.push(a)
        break
      case 'LISTEN':
        if (b === 'sshd' || b === 'other' || b === 'no' || b === 'unknown')
          report.listen = { port: Number(a), who: b }
        break
      case 'SSMUSER':
        report.ssmUser = { exists: a === 'yes', groups: decode(b).split(/\s+/).filter(Boolean) }
        break
      case 'NOPASSWD':
        report.nopasswd.push({ file: decode(a), rule: decode(b) })
        break
      case 'AGENT':
        report.agentRunning = a === 'yes'
        break
      case 'AGENTENV':
        if (a && /^AWS_[A-Z_]+$/.test(a)) report.agentEnv.push(a)
        break
      case 'CREDFILE':
        if (c === 'keys' || c === 'nokeys' || c === 'absent')
          report.credentials = { file: decode(a), profile: decode(b), state: c }
        break
      case 'ENDPOINT':
        report.endpoints.push({ section: decode(a), url: decode(b) })
        break
      case 'HOSTKEY':
        if (a && b && /^SHA256:[A-Za-z0-9+/]+$/.test(b)) report.hostKeys.set(a, b)
        break
    }
  }
  return report
}

export interface HostRuleOptions {
  /** the instance id the report is from, and what the target is called (for the fixes) */
  target: string
  name: string
  port: number
  /** endpoints that are expected although not AWS's (the sandbox's own); compared without a trailing / */
  expectedEndpoints: string[]
}

/** sudo skips files in sudoers.d whose names hold a dot or end in ~ */
const sudoReads = (file: string) => file === 'sudoers' || !(file.includes('.') || file.endsWith('~'))

const AWS_HOST = /(^|\.)(amazonaws\.com|amazonaws\.com\.cn|api\.aws|c2s\.ic\.gov|sc2s\.sgov\.gov)$/i

function hostOf(url: string): string | undefined {
  try {
    return new URL(url.includes('://') ? url : `https://${url}`).hostname
  } catch {
    return undefined
  }
}

export function hostFindings(report: HostReport, o: HostRuleOptions): Finding[] {
  const t = o.target
  const out: Finding[] = []
  const name = o.name || t
  // sshd
  const listen = report.listen
  if (!listen || listen.who === 'unknown')
    out.push(
      warn(
        'sshd',
        `could not tell whether anything listens on port ${o.port} (no ss on the host)`,
        `check on the host: sudo ss -ltnp 'sport = :${o.port}'`,
        t,
      ),
    )
  else if (listen.who === 'no')
    out.push(
      fail(
        'sshd',
        `nothing listens on port ${o.port}: ssh sessions end at once`,
        `start sshd on the host: ssm-ssh run ${name} -- sudo systemctl enable --now ssh`,
        t,
      ),
    )
  else if (listen.who === 'other')
    out.push(
      warn(
        'sshd',
        `port ${o.port} is held by a process that is not sshd`,
        `check on the host: sudo ss -ltnp 'sport = :${o.port}'`,
        t,
      ),
    )
  else out.push(ok('sshd', `sshd listens on port ${o.port}`, t))
  // ssm-user and sudo
  const rules = report.nopasswd.filter((r) => sudoReads(r.file))
  const agentUsers = rules.filter((r) => r.file === 'ssm-agent-users' || /^\s*ssm-user\s/.test(r.rule))
  if (agentUsers.length > 0)
    out.push(
      fail(
        'ssm-user sudo',
        'ssm-user may sudo without a password (/etc/sudoers.d/ssm-agent-users): Session Manager access is root access',
        `ssm-ssh harden ${name}`,
        t,
      ),
    )
  else if (
    report.ssmUser?.exists &&
    report.ssmUser.groups.some((g) => ['sudo', 'wheel', 'admin'].includes(g))
  )
    out.push(
      warn(
        'ssm-user sudo',
        `ssm-user is in the ${report.ssmUser.groups.find((g) => ['sudo', 'wheel', 'admin'].includes(g))} group`,
        `ssm-ssh harden ${name}`,
        t,
      ),
    )
  else
    out.push(
      ok(
        'ssm-user sudo',
        report.ssmUser?.exists
          ? 'ssm-user exists without password-less sudo'
          : 'no ssm-user yet (the agent makes it on the first session)',
        t,
      ),
    )
  for (const r of rules.filter((r) => !agentUsers.includes(r))) {
    const pi = r.file === '010_pi-nopasswd'
    out.push(
      warn(
        'NOPASSWD rule',
        `/etc/${r.file === 'sudoers' ? 'sudoers' : `sudoers.d/${r.file}`}: "${r.rule.trim()}" (sudo without a password)`,
        pi
          ? `ssm-ssh harden ${name} --pi-nopasswd`
          : `review it on the host: sudo visudo -f /etc/sudoers.d/${r.file}`,
        t,
      ),
    )
  }
  // the agent's credentials (seed 001)
  const shadowing = report.agentEnv.filter((n) =>
    ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE'].includes(n),
  )
  if (report.agentRunning === false)
    out.push(
      fail(
        'agent',
        'no amazon-ssm-agent process runs on the host',
        'sudo systemctl restart amazon-ssm-agent',
        t,
      ),
    )
  if (shadowing.length > 0)
    out.push(
      fail(
        'agent credentials',
        `the agent's environment sets ${shadowing.join(', ')}: they replace the instance's role`,
        'remove them from the agent service (systemctl edit amazon-ssm-agent), then restart it',
        t,
      ),
    )
  const cred = report.credentials
  if (cred?.state === 'keys')
    out.push(
      fail(
        'agent credentials',
        `${cred.file} holds keys for profile "${cred.profile}": the agent uses them instead of the instance's role`,
        `remove the [${cred.profile}] keys from ${cred.file} on the host, then sudo systemctl restart amazon-ssm-agent`,
        t,
      ),
    )
  if (shadowing.length === 0 && cred?.state !== 'keys')
    out.push(ok('agent credentials', "nothing shadows the instance's role", t))
  // endpoints
  const expected = new Set(o.expectedEndpoints.map((e) => e.replace(/\/+$/, '')))
  const odd = new Map<string, string[]>()
  for (const e of report.endpoints) {
    if (expected.has(e.url.replace(/\/+$/, ''))) continue
    const host = hostOf(e.url)
    if (host && AWS_HOST.test(host)) continue
    odd.set(e.url, [...(odd.get(e.url) ?? []), e.section])
  }
  for (const [url, sections] of odd)
    out.push(
      warn(
        'agent endpoint',
        `the agent's ${sections.join(', ')} endpoint${sections.length > 1 ? 's are' : ' is'} ${url}, not an AWS domain`,
        'check /etc/amazon/ssm/amazon-ssm-agent.json on the host (a proxy or VPC endpoint is fine)',
        t,
      ),
    )
  return out
}
