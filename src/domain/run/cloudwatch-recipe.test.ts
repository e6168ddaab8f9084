// templates/recipes/cloudwatch-agent.sh run for real on this machine against a fake root
// (SSM_SSH_RECIPE_ROOT): the TOML edit keeps everything but the two [credentials] keys, the profile
// comes from the SSM agent's config, a second run changes no byte, and hostile paths are refused.
import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RECIPES } from './recipes.ts'

const script = join(
  import.meta.dirname,
  '../../../templates/recipes',
  RECIPES['cloudwatch-agent']?.file ?? '',
)
const TARGET = 'opt/aws/amazon-cloudwatch-agent/etc/common-config.toml'
const isRoot = process.getuid?.() === 0

function fakeRoot(files: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'ssm-ssh-recipe-'))
  chmodSync(root, 0o755)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true, mode: 0o755 })
    writeFileSync(join(root, path), text)
  }
  return root
}

function runRecipe(root: string) {
  const r = spawnSync('/bin/sh', [script], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: '/usr/bin:/bin', SSM_SSH_RECIPE_ROOT: root },
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

const read = (root: string) => readFileSync(join(root, TARGET), 'utf8')

// the file the CloudWatch agent package installs (its credentials and proxy tables commented out)
const SHIPPED = `# This common-config is used to configure items used for both ssm and cloudwatch access


## Configuration for shared credential.
## Default credential strategy will be used if it is absent here:
##\tInstance role is used for EC2 case by default.
##\tAmazonCloudWatchAgent profile is used for onPremise case by default.
# [credentials]
#    shared_credential_profile = "{profile_name}"
#    shared_credential_file = "{file_name}"


## Configuration for proxy.
## System-wide environment-variable will be read if it is absent here.
## i.e. HTTP_PROXY/http_proxy; HTTPS_PROXY/https_proxy; NO_PROXY/no_proxy
## Note: system-wide environment-variable is not accessible when using ssm run-command.
## Absent in both here and environment-variable means no proxy will be used.
# [proxy]
#    http_proxy = "{http_url}"
#    https_proxy = "{https_url}"
#    no_proxy = "{domain}"
`

describe.skipIf(!isRoot)('templates/recipes/cloudwatch-agent.sh', () => {
  it('writes the table into a fresh file, root-owned 0644, and a second run changes nothing', () => {
    const root = fakeRoot()
    const first = runRecipe(root)
    expect(first).toMatchObject({ code: 0, err: '' })
    expect(first.out).toBe(
      'cloudwatch-agent: changed (profile default in /root/.aws/credentials; no CloudWatch agent installed)\n',
    )
    expect(read(root)).toBe(
      '[credentials]\n  shared_credential_profile = "default"\n  shared_credential_file = "/root/.aws/credentials"\n',
    )
    const st = statSync(join(root, TARGET))
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, 0, 0o644])
    const second = runRecipe(root)
    expect(second.out).toBe('cloudwatch-agent: unchanged (profile default in /root/.aws/credentials)\n')
    const again = statSync(join(root, TARGET))
    expect([again.ino, again.mtimeMs]).toEqual([st.ino, st.mtimeMs])
  })

  it('keeps the shipped comments and adds an active table after them', () => {
    const root = fakeRoot({ [TARGET]: SHIPPED })
    expect(runRecipe(root).code).toBe(0)
    expect(read(root)).toBe(
      `${SHIPPED}\n[credentials]\n  shared_credential_profile = "default"\n  shared_credential_file = "/root/.aws/credentials"\n`,
    )
    expect(runRecipe(root).out).toContain('unchanged')
  })

  it('sets the two keys in place and leaves the other keys, tables and comments alone', () => {
    const before = [
      '# site settings',
      '[credentials] # ours',
      '   shared_credential_profile="AmazonCloudWatchAgent"',
      '   # role_arn is not ours to touch',
      '   role_arn = "arn:aws:iam::1:role/x"',
      '',
      '[proxy]',
      '   https_proxy = "http://proxy:3128"',
      '   shared_credential_file = "/not/in/credentials"',
      '',
    ].join('\n')
    const root = fakeRoot({ [TARGET]: before })
    expect(runRecipe(root).code).toBe(0)
    expect(read(root)).toBe(
      [
        '# site settings',
        '[credentials] # ours',
        '   shared_credential_profile = "default"',
        '   # role_arn is not ours to touch',
        '   role_arn = "arn:aws:iam::1:role/x"',
        '',
        '  shared_credential_file = "/root/.aws/credentials"',
        '[proxy]',
        '   https_proxy = "http://proxy:3128"',
        '   shared_credential_file = "/not/in/credentials"',
        '',
      ].join('\n'),
    )
    expect(runRecipe(root).out).toContain('unchanged')
  })

  it("takes the profile from the SSM agent's Profile.ShareProfile", () => {
    const root = fakeRoot({
      'etc/amazon/ssm/amazon-ssm-agent.json':
        '{\n "Profile": {\n  "ShareCreds": true,\n  "ShareProfile": "cw-pi"\n },\n "Mds": {}\n}\n',
    })
    expect(runRecipe(root).out).toContain('changed (profile cw-pi in /root/.aws/credentials')
    expect(read(root)).toContain('shared_credential_profile = "cw-pi"')
  })

  it.each([
    [
      'ShareCreds false',
      '{"Profile": {"ShareCreds": false, "ShareProfile": ""}}',
      'does not share its credentials',
    ],
    [
      'a profile that would break out of the string',
      '{"Profile": {"ShareProfile": "x\\" ]\\n[evil"}}',
      'not a plain profile name',
    ],
  ])('fails on %s, writing nothing', (_name, config, why) => {
    const root = fakeRoot({ 'etc/amazon/ssm/amazon-ssm-agent.json': config })
    const r = runRecipe(root)
    expect(r.code).toBe(1)
    expect(r.out).toContain(why)
    expect(existsSync(join(root, TARGET))).toBe(false)
  })

  it('refuses a symlink at the file and leaves its target and the link alone', () => {
    const root = fakeRoot()
    const victim = join(root, 'victim')
    writeFileSync(victim, 'root:x:0:0::/root:/bin/sh\n')
    mkdirSync(join(root, TARGET, '..'), { recursive: true, mode: 0o755 })
    symlinkSync(victim, join(root, TARGET))
    const r = runRecipe(root)
    expect(r.code).toBe(1)
    expect(r.out).toContain('common-config.toml is a symbolic link; not following it')
    expect(readFileSync(victim, 'utf8')).toBe('root:x:0:0::/root:/bin/sh\n')
    expect(lstatSync(join(root, TARGET)).isSymbolicLink()).toBe(true)
  })

  it.each([
    [
      'a linked directory',
      (root: string) => {
        mkdirSync(join(root, 'elsewhere'), { mode: 0o755 })
        mkdirSync(join(root, 'opt/aws/amazon-cloudwatch-agent'), { recursive: true, mode: 0o755 })
        symlinkSync(join(root, 'elsewhere'), join(root, 'opt/aws/amazon-cloudwatch-agent/etc'))
      },
      'amazon-cloudwatch-agent/etc is a symbolic link',
    ],
    [
      'a directory others may write',
      (root: string) => {
        mkdirSync(join(root, 'opt/aws'), { recursive: true, mode: 0o755 })
        chmodSync(join(root, 'opt/aws'), 0o777)
      },
      '/opt/aws is writable by others than root',
    ],
    [
      'a directory owned by someone else',
      (root: string) => {
        mkdirSync(join(root, 'opt/aws/amazon-cloudwatch-agent'), { recursive: true, mode: 0o755 })
        chownSync(join(root, 'opt/aws/amazon-cloudwatch-agent'), 65534, 65534)
      },
      '/opt/aws/amazon-cloudwatch-agent is not owned by root',
    ],
  ])('refuses %s on the way', (_name, plant, why) => {
    const root = fakeRoot()
    plant(root)
    const r = runRecipe(root)
    expect(r.code).toBe(1)
    expect(r.out).toContain(why)
    expect(existsSync(join(root, 'elsewhere/common-config.toml'))).toBe(false)
  })

  it('restarts a running CloudWatch agent after a change, and not when nothing changed', () => {
    const root = fakeRoot()
    const log = join(root, 'ctl.log')
    // a stand-in for amazon-cloudwatch-agent-ctl that reports running and logs what it is asked
    writeFileSync(
      join(root, 'ctl'),
      `#!/bin/sh\necho "$*" >>${log}\n[ "$2" = status ] && echo '{ "status": "running" }'\nexit 0\n`,
    )
    mkdirSync(join(root, 'opt/aws/amazon-cloudwatch-agent/bin'), { recursive: true, mode: 0o755 })
    writeFileSync(
      join(root, 'opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl'),
      readFileSync(join(root, 'ctl')),
    )
    chmodSync(join(root, 'opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl'), 0o755)
    expect(runRecipe(root).out).toContain('CloudWatch agent restarted')
    expect(readFileSync(log, 'utf8')).toBe('-a status\n-a stop\n-a start\n')
    expect(runRecipe(root).out).toContain('unchanged')
    expect(readFileSync(log, 'utf8')).toBe('-a status\n-a stop\n-a start\n')
  })
})
