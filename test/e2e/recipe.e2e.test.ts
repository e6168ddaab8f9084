// ssm-ssh run --recipe on a simulated instance: the script runs on this machine (the sandbox's hosts
// are directories of it), so the recipe must write inside the host's own tree — its home's sysroot —
// and never into the machine's /opt. Real instances: recipe-real.e2e.test.ts.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'

const TOML = 'opt/aws/amazon-cloudwatch-agent/etc/common-config.toml'
const isRoot = process.getuid?.() === 0

describe('run --recipe cloudwatch-agent on a simulated instance', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld({ fleet: 4, seed: 7 })
  }, 60_000)
  afterAll(async () => w?.close())

  const recipe = () =>
    execa(process.execPath, [cli, 'run', 'pi-kitchen', '--recipe', 'cloudwatch-agent'], {
      env: w.env,
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    })

  it('writes into the host tree, not the machine, and the comment names the recipe', async () => {
    const machine = `/${TOML}`
    const before = existsSync(machine) ? statSync(machine).mtimeMs : undefined
    const r = await recipe()
    const home = w.box.state.instances.get(w.idOf('pi-kitchen'))?.home as string
    if (isRoot) {
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stdout).toBe(
        'pi-kitchen\tcloudwatch-agent: changed (profile default in /root/.aws/credentials; no CloudWatch agent installed)',
      )
      expect(readFileSync(join(home, 'sysroot', TOML), 'utf8')).toContain(
        'shared_credential_file = "/root/.aws/credentials"',
      )
      expect((await recipe()).stdout).toContain('cloudwatch-agent: unchanged')
    } else {
      // not root: the file cannot be made root's, and the recipe says so rather than write it
      expect(r.stdout).toContain('FAILED')
    }
    expect(existsSync(machine) ? statSync(machine).mtimeMs : undefined).toBe(before)
    const sent = [...w.box.state.commands.values()].at(-1)
    expect(sent?.comment).toMatch(/^ssm-ssh run by .*: recipe cloudwatch-agent$/)
  })
})
