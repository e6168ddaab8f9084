// ssm-ssh doctor against the sandbox: each problem of issue 17 planted where it lives — on a real
// instance (AWS's own agent, its own /etc, /root and sshd) for the host's, in the service's state for
// the service's — and found with its fix; a healthy real instance shows nothing but ok.
import { SSMClient, UpdateServiceSettingCommand } from '@aws-sdk/client-ssm'
import { execa } from 'execa'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Finding, runDoctor, SANDBOX_ENDPOINT } from '../helpers/doctor.ts'
import { cli, startWorld, type World } from '../helpers/e2e.ts'
import { type InstanceShell, realInstance } from '../helpers/instance-shell.ts'
import { describeReal } from '../helpers/real.ts'

/** Not ok: what a person would have to look at. */
const problems = (findings: Finding[], target?: string) =>
  findings.filter((f) => f.level !== 'ok' && (target === undefined || f.target === target))

describeReal('doctor on a real instance (amazon-ssm-agent) and simulated ones', () => {
  let w: World
  let pi: InstanceShell
  beforeAll(async () => {
    w = await startWorld({ real: 1 })
    pi = realInstance(w, 'pi-kitchen')
    // the user's ssh config includes ours, as after `ssm-ssh config`
    const c = await execa(process.execPath, [cli, 'config'], { env: w.env, extendEnv: false, reject: false })
    expect(c.exitCode, c.stderr).toBe(0)
  }, 120_000)
  afterAll(async () => {
    await w?.close()
  })

  it("the stock Pi's 010_pi-nopasswd rule is a warning with harden --pi-nopasswd as the fix", async () => {
    const r = await runDoctor(w, ['pi-kitchen'])
    const found = problems(r.findings)
    expect(found, JSON.stringify(r.findings, null, 1)).toEqual([
      expect.objectContaining({
        check: 'NOPASSWD rule',
        target: pi.id,
        level: 'warn',
        fix: 'ssm-ssh harden pi-kitchen --pi-nopasswd',
      }),
    ])
    expect(r.exitCode).toBe(10)
  })

  it('a healthy real instance: every check ok', async () => {
    await pi.asRoot('rm /etc/sudoers.d/010_pi-nopasswd')
    const r = await runDoctor(w, ['pi-kitchen'])
    expect(problems(r.findings), JSON.stringify(r.findings, null, 1)).toEqual([])
    // every kind of check ran for the host
    const checks = new Set(r.findings.filter((f) => f.target === pi.id).map((f) => f.check))
    for (const c of [
      'ping',
      'instance tier',
      'permission',
      'sshd',
      'ssm-user sudo',
      'agent credentials',
      'clone',
      'host key',
    ])
      expect(checks).toContain(c)
    expect(r.findings.filter((f) => f.target === undefined).map((f) => f.check)).toEqual(
      expect.arrayContaining(['caller', 'endpoint', 'clock', 'openssh', 'ssh config']),
    )
    expect(r.exitCode).toBe(0)
  })

  it('sshd not listening: fail, with how to start it', async () => {
    const sshd = await pi.pids('/usr/sbin/sshd -D')
    await pi.kill(sshd)
    try {
      const r = await runDoctor(w, ['pi-kitchen'])
      expect(problems(r.findings)).toEqual([
        expect.objectContaining({
          check: 'sshd',
          level: 'fail',
          why: expect.stringMatching(/nothing listens on port 22/),
        }),
      ])
      expect(r.exitCode).toBe(11)
    } finally {
      const again = await pi.asRoot('/usr/sbin/sshd -f /etc/ssh/sshd_config')
      expect(again.exitCode, again.stderr).toBe(0)
    }
  })

  it("keys in /root/.aws/credentials shadow the instance's role: fail, and the key never printed", async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    await pi.asRoot(
      `mkdir -p /root/.aws && printf '[default]\\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\\naws_secret_access_key = ${secret}\\n' >/root/.aws/credentials`,
    )
    try {
      const r = await runDoctor(w, ['pi-kitchen'])
      expect(problems(r.findings)).toEqual([
        expect.objectContaining({
          check: 'agent credentials',
          level: 'fail',
          why: '/root/.aws/credentials holds keys for profile "default": the agent uses them instead of the instance\'s role',
          fix: expect.stringContaining('remove the [default] keys from /root/.aws/credentials'),
        }),
      ])
      expect(r.stdout).not.toContain(secret)
      expect(r.stdout).not.toContain('AKIAIOSFODNN7EXAMPLE')
      // a profile without keys (a region only) shadows nothing
      await pi.asRoot(`printf '[default]\\nregion = eu-west-1\\n' >/root/.aws/credentials`)
      expect(problems((await runDoctor(w, ['pi-kitchen'])).findings)).toEqual([])
    } finally {
      await pi.asRoot('rm -rf /root/.aws')
    }
  })

  it('ssm-user with NOPASSWD sudo: fail "Session Manager access is root access", fix harden', async () => {
    // what the agent writes on a first shell session (agent/session/utility: ssm-agent-users)
    await pi.asRoot(
      "useradd -m -s /bin/bash ssm-user && printf '# User rules for ssm-user\\nssm-user ALL=(ALL) NOPASSWD:ALL\\n' >/etc/sudoers.d/ssm-agent-users && chmod 440 /etc/sudoers.d/ssm-agent-users",
    )
    try {
      const r = await runDoctor(w, ['pi-kitchen'])
      expect(problems(r.findings)).toEqual([
        expect.objectContaining({
          check: 'ssm-user sudo',
          level: 'fail',
          why: expect.stringContaining('Session Manager access is root access'),
          fix: 'ssm-ssh harden pi-kitchen',
        }),
      ])
      // hostile names in sudoers.d reach the terminal as text, not escape sequences
      await pi.asRoot(
        "printf 'pi ALL=(ALL) NOPASSWD: /bin/true # \\033]0;owned\\007\\n' >/etc/sudoers.d/020_odd",
      )
      const human = await execa(
        process.execPath,
        [cli, 'doctor', '--expect-endpoint', SANDBOX_ENDPOINT, 'pi-kitchen'],
        { env: w.env, extendEnv: false, reject: false },
      )
      expect(human.stdout).toMatch(
        /^WARN {2}pi-kitchen \(mi-[0-9a-f]{17}\) {2}NOPASSWD rule: \/etc\/sudoers\.d\/020_odd/m,
      )
      expect(human.stdout).not.toContain('\u001b')
      expect(human.exitCode).toBe(11)
    } finally {
      await pi.asRoot('rm -f /etc/sudoers.d/ssm-agent-users /etc/sudoers.d/020_odd; userdel -r ssm-user')
    }
  })

  it('the standard tier: fail for an mi- node, with the setting to change', async () => {
    const ssm = new SSMClient({
      endpoint: w.box.endpoint,
      region: w.box.region,
      credentials: { accessKeyId: w.box.accessKeyId, secretAccessKey: w.box.secretAccessKey },
    })
    const setting = '/ssm/managed-instance/activation-tier'
    await ssm.send(new UpdateServiceSettingCommand({ SettingId: setting, SettingValue: 'standard' }))
    try {
      const r = await runDoctor(w, ['pi-kitchen'])
      expect(problems(r.findings)).toEqual([
        expect.objectContaining({
          check: 'instance tier',
          level: 'fail',
          fix: `aws ssm update-service-setting --setting-id arn:aws:ssm:${w.box.region}:123456789012:servicesetting/ssm/managed-instance/activation-tier --setting-value advanced`,
        }),
      ])
      // and ssh itself gets the service's refusal as one line naming the setting (BadRequest)
      const s = await w.ssh('pi-kitchen', 'true')
      expect(String(s.stderr)).toContain(
        'Enable advanced-instances tier to use Session Manager with your on-premises instances',
      )
      expect(String(s.stderr)).toContain('--setting-value advanced')
    } finally {
      await ssm.send(new UpdateServiceSettingCommand({ SettingId: setting, SettingValue: 'advanced' }))
      ssm.destroy()
    }
  })

  it('an offline node and an agent too old for SSH (simulated): fail each, with its fix', async () => {
    const r = await runDoctor(w, ['pi-offline', 'pi-old'])
    const offline = w.idOf('pi-offline')
    const old = w.idOf('pi-old')
    expect(problems(r.findings, offline)).toEqual([
      expect.objectContaining({
        check: 'ping',
        level: 'fail',
        why: expect.stringMatching(/^offline \(ConnectionLost\), last ping \d+[mh] ago$/),
        fix: expect.stringContaining('systemctl status amazon-ssm-agent'),
      }),
    ])
    expect(problems(r.findings, old).filter((f) => f.check.startsWith('agent for'))).toEqual([
      expect.objectContaining({
        check: 'agent for SSH (AWS-StartSSHSession)',
        level: 'fail',
        why: 'agent 2.3.500.0 is older than 2.3.672.0, which SSH (AWS-StartSSHSession) needs',
        fix: expect.stringContaining('AWS-UpdateSSMAgent'),
      }),
      expect.objectContaining({ check: 'agent for multiplexed forwarding', level: 'warn' }),
      expect.objectContaining({ check: 'agent for remote-host forwarding (forward --via)', level: 'warn' }),
    ])
    expect(r.exitCode).toBe(11)
  })

  it('a host key other than the one push-key pinned: fail, naming both fixes', async () => {
    const pushed = await execa(
      process.execPath,
      [cli, 'push-key', 'pi-kitchen', '--key', `${w.key.path}.pub`],
      {
        env: w.env,
        extendEnv: false,
        reject: false,
      },
    )
    expect(pushed.exitCode, pushed.stderr).toBe(0)
    const pinned = await runDoctor(w, ['pi-kitchen'])
    expect(pinned.findings.find((f) => f.check === 'host key')).toMatchObject({
      level: 'ok',
      why: 'the host keys match the pinned ones',
    })
    // the card went into another Pi, or the host was reinstalled: a new host key
    const regenerated = await pi.asRoot(
      "rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key",
    )
    expect(regenerated.exitCode, regenerated.stderr).toBe(0)
    const r = await runDoctor(w, ['pi-kitchen'])
    expect(problems(r.findings)).toEqual([
      expect.objectContaining({
        check: 'host key',
        level: 'fail',
        why: `the ssh-ed25519 host key differs from the one pinned: another machine answers as ${pi.id} (a clone), or the host was reinstalled`,
        fix: expect.stringMatching(
          new RegExp(
            `^ssm-ssh reactivate pi-kitchen .*; if reinstalled: ssh-keygen -R ${pi.id} -f \\S+/\\.ssh/ssm-ssh/known_hosts$`,
          ),
        ),
      }),
    ])
  })

  it("keys in the agent's environment shadow the role too: fail, naming the variables, never their values", async () => {
    const instance = w.box.state.instances.get(pi.id)
    const before = instance?.lastPingDateTime
    // the helper starts the agent again with the caller's key pair in its environment (as a unit file's
    // Environment= line would)
    await pi.restartAgent?.()
    const deadline = Date.now() + 60_000
    while (instance?.lastPingDateTime === before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100))
    const r = await runDoctor(w, ['pi-kitchen'])
    expect(r.findings.filter((f) => f.check === 'agent credentials')).toEqual([
      expect.objectContaining({
        level: 'fail',
        why: "the agent's environment sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: they replace the instance's role",
      }),
    ])
    expect(r.stdout).not.toContain(w.box.state.secretAccessKey)
    expect(r.stdout).not.toContain(w.box.state.accessKeyId)
  })

  // A simulated host's scripts run in this machine's userland (sandbox/hosts/run-script.ts): its
  // hostname, sshd and sudoers are this machine's, so only the service's side is asserted for them.
  it('two ids with one ComputerName (re-activated copies of one card): a clone warning on each', async () => {
    const r = await runDoctor(w, ['pi-offline'])
    const ids = [...w.box.state.instances.values()]
      .filter((i) => i.tags.get('Name') === 'pi-clone')
      .map((i) => i.id)
    const both = await runDoctor(w, ids)
    for (const id of ids)
      expect(problems(both.findings, id).filter((f) => f.check === 'clone' && f.level === 'warn')).toEqual([
        expect.objectContaining({
          level: 'warn',
          why: expect.stringContaining(
            `${ids.find((x) => x !== id)} has the same name and ComputerName (pi-clone.local)`,
          ),
        }),
      ])
    expect(problems(r.findings).some((f) => f.check === 'clone')).toBe(false)
  })
})
