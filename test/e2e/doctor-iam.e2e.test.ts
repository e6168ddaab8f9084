// doctor's permission check against the sandbox's IAM (startSandbox({ iamPolicy }), issue 17's
// sandbox IAM): iam:SimulatePrincipalPolicy for the caller says whether it may StartSession with
// AWS-StartSSHSession on each target. A Pi whose tags the policy does not allow is a failure naming
// `ssm-ssh policy`; a caller who may not simulate gets "could not check", a warning, not a failure.
// (Only the permission findings are asserted: the targets are simulated, whose host checks run in
// this machine's userland.)
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runDoctor } from '../helpers/doctor.ts'
import { cli, startWorld, type World } from '../helpers/e2e.ts'

const READS = [
  'ssm:DescribeInstanceInformation',
  'ssm:DescribeInstanceProperties',
  'ssm:GetServiceSetting',
  'ssm:ListTagsForResource',
  'ssm:SendCommand',
  'ssm:ListCommandInvocations',
  'ssm:GetCommandInvocation',
  'tag:GetResources',
  'ec2:DescribeInstances',
]

const policy = (simulate: boolean) => ({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: READS, Resource: '*' },
    ...(simulate ? [{ Effect: 'Allow', Action: 'iam:SimulatePrincipalPolicy', Resource: '*' }] : []),
    {
      Effect: 'Allow',
      Action: 'ssm:StartSession',
      Resource: 'arn:aws:ssm:*:*:managed-instance/*',
      Condition: { StringEquals: { 'ssm:resourceTag/site': 'home' } },
    },
    { Effect: 'Allow', Action: 'ssm:StartSession', Resource: 'arn:aws:ssm:*::document/AWS-StartSSHSession' },
  ],
})

const permission = (findings: Awaited<ReturnType<typeof runDoctor>>['findings'], id: string) =>
  findings.filter((f) => f.check === 'permission' && f.target === id)

describe('doctor: may the caller StartSession here, as IAM tells', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld({ iamPolicy: policy(true) } as Parameters<typeof startWorld>[0])
    // one Pi of another site
    w.box.state.instances.get(w.idOf('pi-garage'))?.tags.set('site', 'office')
  })
  afterAll(async () => {
    await w?.close()
  })

  it('allowed on a site=home Pi; denied on the office one, with ssm-ssh policy as the fix', async () => {
    const r = await runDoctor(w, ['pi-kitchen', 'pi-garage'])
    expect(permission(r.findings, w.idOf('pi-kitchen'))).toEqual([expect.objectContaining({ level: 'ok' })])
    expect(permission(r.findings, w.idOf('pi-garage'))).toEqual([
      expect.objectContaining({
        level: 'fail',
        why: expect.stringContaining('IAM denies the caller ssm:StartSession with AWS-StartSSHSession here'),
        fix: expect.stringContaining('ssm-ssh policy'),
      }),
    ])
  })
})

describe('doctor: a caller who may not ask IAM', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld({ iamPolicy: policy(false) } as Parameters<typeof startWorld>[0])
  })
  afterAll(async () => {
    await w?.close()
  })

  it('says "could not check" as a warning, not a failure', async () => {
    const r = await runDoctor(w, ['pi-kitchen'])
    expect(permission(r.findings, w.idOf('pi-kitchen'))).toEqual([
      expect.objectContaining({
        level: 'warn',
        why: expect.stringMatching(/^could not check whether IAM allows StartSession: ./),
      }),
    ])
  })
})

describe('doctor under the policy `ssm-ssh policy --tag site=home` prints', () => {
  let w: World
  beforeAll(async () => {
    const printed = await execa(process.execPath, [cli, 'policy', '--tag', 'site=home'], {
      env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      extendEnv: false,
    })
    w = await startWorld({ iamPolicy: printed.stdout })
  })
  afterAll(async () => {
    await w?.close()
  })

  it('may read the tier and simulate its own policy: both checks answer for a site=home Pi', async () => {
    const r = await runDoctor(w, ['pi-kitchen'])
    const id = w.idOf('pi-kitchen')
    const of = (check: string) => r.findings.filter((f) => f.check === check && f.target === id)
    expect(of('instance tier'), JSON.stringify(r.findings)).toEqual([
      expect.objectContaining({ level: 'ok' }),
    ])
    expect(of('permission')).toEqual([expect.objectContaining({ level: 'ok' })])
    // Run Command is not in that policy (it is root on the host): the host checks say so and the rest goes on
    expect(of('run command')).toEqual([
      expect.objectContaining({
        level: 'warn',
        why: expect.stringContaining('your IAM policy does not allow ssm:SendCommand'),
        fix: expect.stringContaining('ssm-ssh policy --push-key'),
      }),
    ])
    expect(r.exitCode).toBe(10)
  })
})
