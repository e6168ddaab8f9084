// Done-when of issue 17's policy: the policy `ssm-ssh policy --tag site=home` prints, loaded into the
// sandbox as the caller's, lets real OpenSSH through our ProxyCommand reach a site=home Pi, refuses a
// Pi of another site with one clear line (exit 3 from the proxy; ssh's own 255), refuses a session
// document it does not name, and lets the user end only their own sessions.
import { SSMClient, StartSessionCommand, TerminateSessionCommand } from '@aws-sdk/client-ssm'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useCallerPolicy } from '../../src/sandbox/iam/caller-policy.ts'
import { cleanEnv, cli, startWorld, type World } from '../helpers/e2e.ts'

const ACCOUNT = '123456789012'
const USER = `arn:aws:iam::${ACCOUNT}:user/sandbox-user`

const rejection = async (p: Promise<unknown>) => {
  try {
    await p
  } catch (error) {
    return error as { name: string; message: string }
  }
  throw new Error('the call was allowed')
}

describe('ssm-ssh policy --tag site=home, enforced by the sandbox', () => {
  let w: World
  let policyText: string
  let ssm: SSMClient
  const clientFor = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new SSMClient({ endpoint: w.box.endpoint, region: w.box.region, credentials, maxAttempts: 1 })
  beforeAll(async () => {
    const printed = await execa(process.execPath, [cli, 'policy', '--tag', 'site=home'], {
      env: cleanEnv('/tmp'),
      extendEnv: false,
    })
    policyText = printed.stdout
    w = await startWorld({ iamPolicy: policyText })
    // one Pi moves to another site (as AddTagsToResource would)
    w.box.state.instances.get(w.idOf('pi-attic'))?.tags.set('site', 'office')
    ssm = clientFor({ accessKeyId: w.box.accessKeyId, secretAccessKey: w.box.secretAccessKey })
  }, 60_000)
  afterAll(async () => w?.close())

  it('the printed policy is the one the sandbox holds', () => {
    expect(JSON.parse(policyText).Statement[0].Condition.StringEquals).toEqual({
      'ssm:resourceTag/site': ['home'],
    })
    expect(w.box.state.callerPolicy?.statements.length).toBeGreaterThan(3)
  })

  it('allows real ssh through the ProxyCommand to a site=home Pi, start to finish', async () => {
    const r = await w.ssh('pi@pi-kitchen', 'echo hello from $(hostname)')
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    expect(r.stdout.toString()).toMatch(/^hello from /)
    const calls = w.box.state.requests.filter((q) => q.service !== 'ssmmessages')
    // everything the proxy called was allowed, its own session ended by itself
    expect(calls.filter((q) => q.status !== 200)).toEqual([])
    expect(calls.map((q) => q.operation)).toContain('StartSession')
  })

  it('denies a Pi without the tag: one line naming the action and the fix, exit 3 (ssh exits 255)', async () => {
    const attic = w.idOf('pi-attic')
    const line = `ssm-ssh: your IAM policy does not allow ssm:StartSession on ${attic} — see \`ssm-ssh policy\``
    const viaSsh = await w.ssh('pi@pi-attic', 'true')
    expect(viaSsh.exitCode).toBe(255)
    expect(viaSsh.stderr.split('\n')[0]).toBe(line)
    const proxy = await w.proxy(['pi-attic', '22'])
    expect(proxy.exitCode).toBe(3)
    expect(proxy.stdout).toBe('')
    expect(proxy.stderr.trim()).toBe(line)
    const denied = w.box.state.requests.filter((q) => q.operation === 'StartSession' && q.status !== 200)
    expect(denied.map((q) => q.errorCode)).toEqual(['AccessDeniedException', 'AccessDeniedException'])
    expect([...w.box.state.sessions.values()].filter((s) => s.target === attic)).toEqual([])
  })

  it('denies another session document (AWS-StartInteractiveCommand), and a request that names none', async () => {
    const kitchen = w.idOf('pi-kitchen')
    const e = await rejection(
      ssm.send(
        new StartSessionCommand({
          Target: kitchen,
          DocumentName: 'AWS-StartInteractiveCommand',
          Parameters: { command: ['bash'] },
        }),
      ),
    )
    expect(e.name).toBe('AccessDeniedException')
    expect(e.message).toBe(
      `User: ${USER} is not authorized to perform: ssm:StartSession on resource: arn:aws:ssm:eu-west-1::document/AWS-StartInteractiveCommand because no identity-based policy allows the ssm:StartSession action`,
    )
    // port forwarding needs --forward
    const forward = await rejection(
      ssm.send(
        new StartSessionCommand({
          Target: kitchen,
          DocumentName: 'AWS-StartPortForwardingSession',
          Parameters: { portNumber: ['80'] },
        }),
      ),
    )
    expect(forward.message).toContain(
      'on resource: arn:aws:ssm:eu-west-1::document/AWS-StartPortForwardingSession because',
    )
    // without DocumentName the default shell document would run: ssm:SessionDocumentAccessCheck refuses it
    expect((await rejection(ssm.send(new StartSessionCommand({ Target: kitchen })))).name).toBe(
      'AccessDeniedException',
    )
  })

  it('lets the user terminate their own sessions and no one else’s', async () => {
    const other = { accessKeyId: 'AKIAOTHERUSEREXAMPLE', secretAccessKey: 'another-users-secret-key' }
    w.box.state.credentials.set(other.accessKeyId, {
      ...other,
      principal: {
        arn: `arn:aws:iam::${ACCOUNT}:user/other-user`,
        userId: 'AIDAOTHERUSEREXAMPLE',
        userName: 'other-user',
        kind: 'caller',
      },
    })
    const theirs = await clientFor(other).send(
      new StartSessionCommand({ Target: w.idOf('pi-garage'), DocumentName: 'AWS-StartSSHSession' }),
    )
    expect(theirs.SessionId).toMatch(/^other-user-/)
    const e = await rejection(ssm.send(new TerminateSessionCommand({ SessionId: theirs.SessionId })))
    expect(e.name).toBe('AccessDeniedException')
    expect(e.message).toBe(
      `User: ${USER} is not authorized to perform: ssm:TerminateSession on resource: arn:aws:ssm:eu-west-1:${ACCOUNT}:session/${theirs.SessionId} because no identity-based policy allows the ssm:TerminateSession action`,
    )
    expect(w.box.state.sessions.get(theirs.SessionId as string)?.status).not.toBe('Terminated')
    const mine = await ssm.send(
      new StartSessionCommand({ Target: w.idOf('pi-garage'), DocumentName: 'AWS-StartSSHSession' }),
    )
    await ssm.send(new TerminateSessionCommand({ SessionId: mine.SessionId }))
    expect(w.box.state.sessions.get(mine.SessionId as string)?.status).toBe('Terminated')
  })

  it('ls, whoami and the rest of the reads work under it (GetCallerIdentity needs no permission)', async () => {
    const run = (args: string[]) =>
      execa(process.execPath, [cli, ...args], { env: w.env, extendEnv: false, reject: false })
    const ls = await run(['ls', '--json', '--refresh'])
    expect(ls.stderr).toBe('')
    expect(ls.exitCode).toBe(0)
    expect(ls.stdout).toContain('pi-attic')
    const who = await run(['whoami', '--json'])
    expect(who.exitCode).toBe(0)
    expect(JSON.parse(who.stdout).arn).toBe(USER)
  })

  it('a policy without ssmmessages:OpenDataChannel: the data channel is refused with the same one line, exit 3', async () => {
    const narrower = JSON.parse(policyText)
    const own = narrower.Statement.find((s: { Sid: string }) => s.Sid === 'OwnSessionsOnlyResumeOpenEnd')
    own.Action = ['ssm:ResumeSession', 'ssm:TerminateSession']
    useCallerPolicy(w.box.state, narrower)
    try {
      const r = await w.proxy(['pi-kitchen', '22'])
      expect(r.exitCode).toBe(3)
      expect(r.stderr.trim()).toMatch(
        /^ssm-ssh: your IAM policy does not allow ssmmessages:OpenDataChannel on sandbox-user-[0-9a-f]+ — see `ssm-ssh policy`$/,
      )
      // the session it could not use was ended (its own: allowed)
      const id = /on (sandbox-user-[0-9a-f]+)/.exec(r.stderr)?.[1] as string
      expect(w.box.state.sessions.get(id)?.status).toBe('Terminated')
    } finally {
      useCallerPolicy(w.box.state, policyText)
    }
  })
})

describe('ssm-ssh policy --tag site=home --push-key', () => {
  it('push-key reaches the tagged Pi through Run Command and is refused on another site with one line, exit 3', async () => {
    const printed = await execa(
      process.execPath,
      [cli, 'policy', '--tag', 'site=home', '--push-key', '--user', 'pi'],
      {
        env: cleanEnv('/tmp'),
        extendEnv: false,
      },
    )
    const w = await startWorld({ iamPolicy: printed.stdout })
    try {
      w.box.state.instances.get(w.idOf('pi-attic'))?.tags.set('site', 'office')
      const pushKey = (target: string) =>
        execa(process.execPath, [cli, 'push-key', target], { env: w.env, extendEnv: false, reject: false })
      const ok = await pushKey('pi-kitchen')
      expect(ok.exitCode).toBe(0)
      expect(ok.stdout).toMatch(/^ok\s+mi-\S+\s+pi-kitchen\s+pi\s+key SHA256:/)
      const refused = await pushKey('pi-attic')
      expect(refused.exitCode).toBe(3)
      expect(refused.stderr.trim()).toBe(
        `ssm-ssh: your IAM policy does not allow ssm:SendCommand on ${w.idOf('pi-attic')} — see \`ssm-ssh policy\``,
      )
      expect(w.box.state.commands.size).toBe(1)
    } finally {
      await w.close()
    }
  })
})

describe('sandbox --iam-policy FILE', () => {
  it('loads the policy, and refuses one IAM would refuse, naming the problem (exit 2)', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
    const { join } = await import('node:path')
    const { tmpdir } = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-iam-'))
    try {
      const bad = join(dir, 'bad.json')
      writeFileSync(
        bad,
        JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ssm:*' }] }),
      )
      const r = await execa(process.execPath, [cli, 'sandbox', '--fleet', '3', '--iam-policy', bad], {
        env: cleanEnv(dir),
        extendEnv: false,
        reject: false,
        timeout: 30_000,
      })
      expect(r.exitCode).toBe(2)
      expect(r.stderr).toContain(
        'is not a valid IAM policy: each statement needs exactly one of Resource and NotResource',
      )
      const missing = await execa(
        process.execPath,
        [cli, 'sandbox', '--iam-policy', join(dir, 'none.json')],
        {
          env: cleanEnv(dir),
          extendEnv: false,
          reject: false,
          timeout: 30_000,
        },
      )
      expect(missing.exitCode).toBe(2)
      expect(missing.stderr).toContain('cannot read --iam-policy')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
