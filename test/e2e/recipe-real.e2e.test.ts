// ssm-ssh run --recipe cloudwatch-agent on a real instance (AWS's amazon-ssm-agent running the
// script through Run Command, as root, in the instance's own root): the agent as the sandbox starts it
// shares no credentials, and the recipe says so; with Profile.ShareCreds on (as an enrolled Pi's agent
// has it), common-config.toml names the shared credentials file and the profile, keeps the other
// settings, a second run reports unchanged, and a link planted at the file is refused.
import { execa } from 'execa'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'
import { type InstanceShell, realInstance } from '../helpers/instance-shell.ts'
import { describeReal } from '../helpers/real.ts'

const REAL = 'pi-kitchen'
const TOML = '/opt/aws/amazon-cloudwatch-agent/etc/common-config.toml'
const AGENT_CONFIG = '/etc/amazon/ssm/amazon-ssm-agent.json'

interface Row {
  name: string
  status: string
  exitCode: number | null
  stdout: string
}

describeReal('run --recipe cloudwatch-agent on a real instance', () => {
  let w: World
  let pi: InstanceShell
  const recipe = async () => {
    const r = await execa(process.execPath, [cli, 'run', REAL, '--recipe', 'cloudwatch-agent', '--json'], {
      env: w.env,
      extendEnv: false,
      reject: false,
      timeout: 90_000,
    })
    const rows = String(r.stdout)
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row)
    return { exitCode: r.exitCode, stderr: String(r.stderr), row: rows[0] }
  }
  const shell = async (command: string) => {
    const r = await pi.asRoot(command)
    expect(r.exitCode, r.stderr).toBe(0)
    return r.stdout
  }

  beforeAll(async () => {
    w = await startWorld({ real: 1 })
    pi = realInstance(w, REAL)
  }, 120_000)
  afterAll(async () => w?.close())

  it('refuses while the SSM agent shares no credentials (the sandbox starts it with ShareCreds false)', async () => {
    expect(await shell(`cat ${AGENT_CONFIG}`)).toContain('"ShareCreds": false')
    const r = await recipe()
    expect(r.exitCode).toBe(1)
    expect(r.row).toMatchObject({ status: 'Failed', exitCode: 1 })
    expect(r.row?.stdout).toContain('does not share its credentials (Profile.ShareCreds is false')
    expect((await pi.asRoot(`test -e ${TOML}`)).exitCode).toBe(1)
  }, 120_000)

  it('names the shared credentials file and profile, keeps the rest, and changes nothing the second time', async () => {
    // the agent of an enrolled Pi shares its credentials, here under a profile of its own
    await shell(
      `sed -i 's/"ShareCreds": false/"ShareCreds": true, "ShareProfile": "pi-role"/' ${AGENT_CONFIG} && ` +
        `mkdir -p ${TOML.replace(/\/[^/]+$/, '')} && ` +
        `printf '# ours\\n[proxy]\\n   https_proxy = "http://10.0.0.1:3128"\\n' > ${TOML}`,
    )
    const first = await recipe()
    expect(first.exitCode, first.stderr).toBe(0)
    expect(first.row).toMatchObject({ status: 'Success', exitCode: 0 })
    expect(first.row?.stdout).toBe(
      'cloudwatch-agent: changed (profile pi-role in /root/.aws/credentials; no CloudWatch agent installed)\n',
    )
    const text = await shell(`cat ${TOML}`)
    expect(text).toBe(
      [
        '# ours',
        '[proxy]',
        '   https_proxy = "http://10.0.0.1:3128"',
        '',
        '[credentials]',
        '  shared_credential_profile = "pi-role"',
        '  shared_credential_file = "/root/.aws/credentials"',
        '',
      ].join('\n'),
    )
    expect(await shell(`stat -c '%U:%G %a' ${TOML}`)).toBe('root:root 644\n')
    const before = await shell(`stat -c '%i %Y' ${TOML} && sha256sum ${TOML}`)
    const second = await recipe()
    expect(second.exitCode).toBe(0)
    expect(second.row?.stdout).toBe(
      'cloudwatch-agent: unchanged (profile pi-role in /root/.aws/credentials)\n',
    )
    expect(await shell(`stat -c '%i %Y' ${TOML} && sha256sum ${TOML}`)).toBe(before)
  }, 120_000)

  it('refuses a symlink planted at the file, leaving what it points at alone', async () => {
    const shadow = await shell('sha256sum /etc/shadow')
    await shell(`rm -f ${TOML} && ln -s /etc/shadow ${TOML}`)
    const r = await recipe()
    expect(r.exitCode).toBe(1)
    expect(r.row?.stdout).toContain(`${TOML} is a symbolic link; not following it`)
    expect(await shell('sha256sum /etc/shadow')).toBe(shadow)
    expect(await shell(`readlink ${TOML}`)).toBe('/etc/shadow\n')
  }, 120_000)
})
