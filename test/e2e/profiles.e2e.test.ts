// Profiles, regions and endpoints as real set-ups use them (issue 15): a named profile whose
// endpoint_url is the only way to the service (a VPC endpoint; here the sandbox), --endpoint-url, and
// AWS_PROFILE: what resolves names must also carry the sessions the stanzas start later.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanEnv, cli, startWorld, type World } from '../helpers/e2e.ts'
import { sshBaseArgs } from '../helpers/ssh-key.ts'

describe('profiles and endpoints reach the ProxyCommand', () => {
  let w: World
  /** the environment of a shell with no AWS_* endpoint, region or keys: only the profile files know them */
  let bare: NodeJS.ProcessEnv
  beforeAll(async () => {
    w = await startWorld()
    writeFileSync(
      join(w.dir, 'aws-config'),
      `[profile lab]\nregion = ${w.box.region}\nendpoint_url = ${w.box.endpoint}\n[profile keys-only]\nregion = ${w.box.region}\n`,
    )
    writeFileSync(
      join(w.dir, 'aws-credentials'),
      `[lab]\naws_access_key_id = ${w.box.accessKeyId}\naws_secret_access_key = ${w.box.secretAccessKey}\n[keys-only]\naws_access_key_id = ${w.box.accessKeyId}\naws_secret_access_key = ${w.box.secretAccessKey}\n`,
    )
    bare = cleanEnv(w.dir, { XDG_CACHE_HOME: join(w.dir, 'cache-profiles') })
  })
  afterAll(async () => w.close())

  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    execa(process.execPath, [cli, ...args], { env, extendEnv: false, reject: false, stdin: 'ignore' })
  const sshThrough = (sshDir: string, env: NodeJS.ProcessEnv) =>
    execa(
      'ssh',
      [
        '-F',
        join(sshDir, 'config'),
        ...sshBaseArgs(w.key.path).slice(0, -2),
        'pi-kitchen',
        'echo via-stanza',
      ],
      { env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 60_000 },
    )

  it("--profile P uses P's endpoint_url (the SDK read AWS_PROFILE's only: sessions went to the public endpoint)", async () => {
    const r = await run(['--profile', 'lab', 'ls', '--json'], bare)
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    expect((JSON.parse(r.stdout) as unknown[]).length).toBe(12)
  })

  it('whoami shows the caller, where the credentials came from, region, endpoints and proxy (nothing showed them)', async () => {
    const r = await run(['--profile', 'lab', 'whoami', '--json'], bare)
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({
      account: '123456789012',
      arn: 'arn:aws:iam::123456789012:user/sandbox-user',
      userId: expect.stringMatching(/^AIDA/),
      credentials: 'shared credentials/config file',
      accessKeyId: `${w.box.accessKeyId.slice(0, 4)}…${w.box.accessKeyId.slice(-4)}`,
      profile: 'lab',
      region: 'eu-west-1',
      ssmEndpoint: w.box.endpoint,
      stsEndpoint: w.box.endpoint,
      proxy: null,
    })
    const people = await run(['whoami'], {
      ...w.env,
      HTTPS_PROXY: 'http://proxy.example:3128',
      NO_PROXY: '127.0.0.1',
    })
    expect(people.stdout).toMatch(/^credentials {2}environment variables \(AWS_ACCESS_KEY_ID; /m)
    expect(people.stdout).toMatch(/^proxy {8}none \(direct\)$/m)
    expect(people.stdout).not.toContain(w.box.secretAccessKey)
  })

  it('AWS_PROFILE is written into the stanza the block is labelled with, so ssh works without it later', async () => {
    const sshDir = join(w.dir, 'dot-ssh-aws-profile')
    mkdirSync(sshDir, { mode: 0o700 })
    const r = await run(['config', '--ssh-dir', sshDir, '--user', 'pi'], { ...bare, AWS_PROFILE: 'lab' })
    expect(r.exitCode, r.stderr).toBe(0)
    const ours = readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')
    expect(ours).toMatch(/# >>> ssm-ssh profile=lab /)
    // the region comes from the profile, which the stanza now names
    expect(ours).toMatch(/ProxyCommand .* proxy --profile lab %h %p/)
    const ssh = await sshThrough(sshDir, bare)
    expect(ssh.stderr).toBe('')
    expect(ssh.stdout).toBe('via-stanza')
  })

  it('--endpoint-url reaches the ProxyCommand (names resolved through it, the session went elsewhere)', async () => {
    const sshDir = join(w.dir, 'dot-ssh-endpoint')
    mkdirSync(sshDir, { mode: 0o700 })
    const r = await run(
      [
        '--profile',
        'keys-only',
        '--endpoint-url',
        w.box.endpoint,
        'config',
        '--ssh-dir',
        sshDir,
        '--user',
        'pi',
      ],
      bare,
    )
    expect(r.exitCode, r.stderr).toBe(0)
    expect(readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')).toContain(
      `proxy --profile keys-only --endpoint-url ${w.box.endpoint} %h %p`,
    )
    const ssh = await sshThrough(sshDir, bare)
    expect(ssh.stderr).toBe('')
    expect(ssh.stdout).toBe('via-stanza')
  })
})

describe('AWS_PROFILE and keys in the environment, as the AWS CLI takes them', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld()
    // the profile's keys are wrong: whoever uses them gets "the security token … is invalid"
    writeFileSync(join(w.dir, 'aws-config'), `[profile stale]\nregion = ${w.box.region}\n`)
    writeFileSync(
      join(w.dir, 'aws-credentials'),
      '[stale]\naws_access_key_id = AKIASTALE\naws_secret_access_key = stale\n',
    )
  })
  afterAll(async () => w.close())

  it('the environment’s keys win over AWS_PROFILE (the AWS CLI’s order), and the SDK’s multi-line warning never prints', async () => {
    const r = await execa(process.execPath, [cli, 'ls', '--json', '--refresh'], {
      env: { ...w.env, AWS_PROFILE: 'stale', XDG_CACHE_HOME: join(w.dir, 'cache-precedence') },
      extendEnv: false,
      reject: false,
    })
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    // an explicit --profile is the user's choice: its keys are used (and refused here)
    const explicit = await execa(process.execPath, [cli, '--profile', 'stale', 'ls', '--json', '--refresh'], {
      env: { ...w.env, XDG_CACHE_HOME: join(w.dir, 'cache-precedence') },
      extendEnv: false,
      reject: false,
    })
    expect(explicit.exitCode).toBe(3)
    expect(explicit.stderr).toMatch(/^ssm-ssh: AWS rejected the credentials/)
  })
})
