// The caller's IAM policy at the API, through the real SDK clients: each service's AccessDenied
// wording, resources per operation, instance roles exempt, and IAM's SimulatePrincipalPolicy/GetUser.
import type { Server } from 'node:http'
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2'
import { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect'
import {
  GetUserCommand,
  IAMClient,
  paginateSimulatePrincipalPolicy,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam'
import {
  DescribeInstanceInformationCommand,
  DescribeSessionsCommand,
  SendCommandCommand,
  SSMClient,
  StartSessionCommand,
  TerminateSessionCommand,
} from '@aws-sdk/client-ssm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { roleSessionCredential } from '../credentials.ts'
import { useCallerPolicy } from '../iam/caller-policy.ts'
import type { SandboxState, SimInstance } from '../model.ts'
import { serveApi, testCredentials, testState } from './test-server.ts'

const ACCOUNT = '123456789012'
const USER = `arn:aws:iam::${ACCOUNT}:user/sandbox-user`
const policy = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'SshToHome',
      Effect: 'Allow',
      Action: 'ssm:StartSession',
      Resource: ['arn:aws:ssm:*:*:managed-instance/*', 'arn:aws:ec2:*:*:instance/*'],
      Condition: {
        StringEquals: { 'ssm:resourceTag/site': 'home' },
        BoolIfExists: { 'ssm:SessionDocumentAccessCheck': 'true' },
      },
    },
    {
      Sid: 'SshDocument',
      Effect: 'Allow',
      Action: 'ssm:StartSession',
      Resource: 'arn:aws:ssm:*::document/AWS-StartSSHSession',
    },
    {
      Sid: 'OwnSessions',
      Effect: 'Allow',
      Action: 'ssm:TerminateSession',
      Resource: 'arn:aws:ssm:*:*:session/${aws:username}-*',
    },
    {
      Sid: 'Read',
      Effect: 'Allow',
      Action: ['ssm:DescribeInstanceInformation', 'ssm:DescribeSessions'],
      Resource: '*',
    },
    { Sid: 'NoShells', Effect: 'Deny', Action: 'ssm:SendCommand', Resource: '*' },
    {
      Sid: 'OwnPolicy',
      Effect: 'Allow',
      Action: 'iam:SimulatePrincipalPolicy',
      Resource: 'arn:aws:iam::*:user/${aws:username}',
    },
  ],
}

const rejection = async (p: Promise<unknown>) => {
  try {
    await p
  } catch (error) {
    const e = error as { name: string; message: string; $metadata: { httpStatusCode?: number } }
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode }
  }
  throw new Error('the call was allowed')
}

describe("the caller's IAM policy at the sandbox's API", () => {
  let state: SandboxState
  let server: Server
  let endpoint: string
  const config = (credentials = testCredentials, region = 'eu-west-1') => ({
    endpoint,
    region,
    credentials,
    maxAttempts: 1,
  })
  const byName = (name: string) =>
    [...state.instances.values()].find((i) => i.tags.get('Name') === name) as SimInstance
  beforeAll(async () => {
    state = testState(12, 1)
    ;({ server, endpoint } = await serveApi(state))
    useCallerPolicy(state, policy)
    byName('pi-attic').tags.set('site', 'office')
  })
  afterAll(() => server.close())

  it('StartSession: the tagged instance with the SSH document, nothing else, in SSM words', async () => {
    const ssm = new SSMClient(config())
    const kitchen = byName('pi-kitchen').id
    const ok = await ssm.send(
      new StartSessionCommand({
        Target: kitchen,
        DocumentName: 'AWS-StartSSHSession',
        Parameters: { portNumber: ['22'] },
      }),
    )
    expect(ok.SessionId).toMatch(/^sandbox-user-/)
    const attic = byName('pi-attic').id
    expect(
      await rejection(
        ssm.send(new StartSessionCommand({ Target: attic, DocumentName: 'AWS-StartSSHSession' })),
      ),
    ).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message: `User: ${USER} is not authorized to perform: ssm:StartSession on resource: arn:aws:ssm:eu-west-1:${ACCOUNT}:managed-instance/${attic} because no identity-based policy allows the ssm:StartSession action`,
    })
    expect(
      (
        await rejection(
          ssm.send(new StartSessionCommand({ Target: kitchen, DocumentName: 'AWS-StartInteractiveCommand' })),
        )
      ).message,
    ).toBe(
      `User: ${USER} is not authorized to perform: ssm:StartSession on resource: arn:aws:ssm:eu-west-1::document/AWS-StartInteractiveCommand because no identity-based policy allows the ssm:StartSession action`,
    )
    // no DocumentName: ssm:SessionDocumentAccessCheck is false, so BoolIfExists … true refuses
    expect((await rejection(ssm.send(new StartSessionCommand({ Target: kitchen })))).name).toBe(
      'AccessDeniedException',
    )
    expect(state.sessions.size).toBe(1)
  })

  it('an explicit Deny is named as one; actions on "*" name the account in SSM, nothing in EC2', async () => {
    const ssm = new SSMClient(config())
    const denied = await rejection(
      ssm.send(
        new SendCommandCommand({
          InstanceIds: [byName('pi-kitchen').id],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['id'] },
        }),
      ),
    )
    expect(denied.message).toMatch(
      /^User: .* is not authorized to perform: ssm:SendCommand on resource: .* with an explicit deny in an identity-based policy$/,
    )
    await ssm.send(new DescribeInstanceInformationCommand({}))
    useCallerPolicy(state, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'ssm:DescribeSessions', Resource: '*' }],
    })
    try {
      expect((await rejection(ssm.send(new DescribeInstanceInformationCommand({})))).message).toBe(
        `User: ${USER} is not authorized to perform: ssm:DescribeInstanceInformation on resource: arn:aws:ssm:eu-west-1:${ACCOUNT}:* because no identity-based policy allows the ssm:DescribeInstanceInformation action`,
      )
      expect(await rejection(new EC2Client(config()).send(new DescribeInstancesCommand({})))).toEqual({
        name: 'UnauthorizedOperation',
        status: 403,
        message: `You are not authorized to perform this operation. User: ${USER} is not authorized to perform: ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action`,
      })
      const eic = await rejection(
        new EC2InstanceConnectClient(config()).send(
          new SendSSHPublicKeyCommand({
            InstanceId: byName('web-2').id,
            InstanceOSUser: 'ec2-user',
            SSHPublicKey: `ssh-ed25519 ${'A'.repeat(68)}`,
          }),
        ),
      )
      expect(eic.message).toContain(
        `ec2-instance-connect:SendSSHPublicKey on resource: arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/${byName('web-2').id}`,
      )
      // GetCallerIdentity needs no permission, as on AWS (whoami works under any policy)
    } finally {
      useCallerPolicy(state, policy)
    }
  })

  it("an instance's role is never subject to the caller's policy", async () => {
    useCallerPolicy(state, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
    })
    try {
      const role = roleSessionCredential(
        ACCOUNT,
        'SSMServiceRole',
        byName('pi-kitchen').id,
        new Date(),
        3_600_000,
        byName('pi-kitchen').id,
      )
      state.credentials.set(role.accessKeyId, role)
      const ssm = new SSMClient(
        config({
          accessKeyId: role.accessKeyId,
          secretAccessKey: role.secretAccessKey,
          sessionToken: role.sessionToken as string,
        } as typeof testCredentials),
      )
      await expect(ssm.send(new DescribeSessionsCommand({ State: 'Active' }))).resolves.toBeDefined()
      expect(
        (await rejection(new SSMClient(config()).send(new DescribeSessionsCommand({ State: 'Active' }))))
          .name,
      ).toBe('AccessDeniedException')
    } finally {
      useCallerPolicy(state, policy)
    }
  })

  it("TerminateSession: the user's own sessions only (session ARNs carry the owner's name)", async () => {
    const other = { accessKeyId: 'AKIAOTHERUSER0000001', secretAccessKey: 'other-secret' }
    state.credentials.set(other.accessKeyId, {
      ...other,
      principal: {
        arn: `arn:aws:iam::${ACCOUNT}:user/other-user`,
        userId: 'AIDAOTHERUSER0000001',
        userName: 'other-user',
        kind: 'caller',
      },
    })
    const theirs = await new SSMClient(config(other)).send(
      new StartSessionCommand({ Target: byName('pi-garage').id, DocumentName: 'AWS-StartSSHSession' }),
    )
    const ssm = new SSMClient(config())
    const denied = await rejection(ssm.send(new TerminateSessionCommand({ SessionId: theirs.SessionId })))
    expect(denied.message).toContain(
      `ssm:TerminateSession on resource: arn:aws:ssm:eu-west-1:${ACCOUNT}:session/${theirs.SessionId}`,
    )
    expect(state.sessions.get(theirs.SessionId as string)?.status).not.toBe('Terminated')
    const mine = await ssm.send(
      new StartSessionCommand({ Target: byName('pi-garage').id, DocumentName: 'AWS-StartSSHSession' }),
    )
    await ssm.send(new TerminateSessionCommand({ SessionId: mine.SessionId }))
    expect(state.sessions.get(mine.SessionId as string)?.status).toBe('Terminated')
  })

  it('SimulatePrincipalPolicy answers for the policy it holds, per resource, with the statements, in pages', async () => {
    const iam = new IAMClient(config(testCredentials, 'us-east-1'))
    const pi = `arn:aws:ssm:eu-west-1:${ACCOUNT}:managed-instance/${byName('pi-kitchen').id}`
    const out = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: USER,
        ActionNames: ['ssm:StartSession'],
        ResourceArns: [pi],
        ContextEntries: [
          { ContextKeyName: 'ssm:resourceTag/site', ContextKeyValues: ['home'], ContextKeyType: 'string' },
          {
            ContextKeyName: 'ssm:SessionDocumentAccessCheck',
            ContextKeyValues: ['true'],
            ContextKeyType: 'boolean',
          },
        ],
      }),
    )
    const [r] = out.EvaluationResults ?? []
    expect(r).toMatchObject({
      EvalActionName: 'ssm:StartSession',
      EvalDecision: 'allowed',
      EvalResourceName: pi,
    })
    expect(r?.MatchedStatements?.[0]).toMatchObject({
      SourcePolicyType: 'user',
      StartPosition: { Line: 4, Column: 5 },
    })
    expect(r?.ResourceSpecificResults?.[0]).toMatchObject({
      EvalResourceName: pi,
      EvalResourceDecision: 'allowed',
    })
    const untagged = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: USER,
        ActionNames: ['ssm:StartSession'],
        ResourceArns: [pi],
      }),
    )
    expect(untagged.EvaluationResults?.[0]?.EvalDecision).toBe('implicitDeny')
    expect(untagged.EvaluationResults?.[0]?.ResourceSpecificResults?.[0]?.MissingContextValues).toEqual([
      'ssm:resourceTag/site',
    ])
    const decisions: string[] = []
    for await (const page of paginateSimulatePrincipalPolicy(
      { client: iam, pageSize: 2 },
      {
        PolicySourceArn: USER,
        ActionNames: ['ssm:DescribeSessions', 'ssm:SendCommand', 'ec2:DescribeInstances'],
      },
    )) {
      expect(page.EvaluationResults?.length).toBeLessThanOrEqual(2)
      decisions.push(...(page.EvaluationResults ?? []).map((e) => `${e.EvalActionName} ${e.EvalDecision}`))
    }
    expect(decisions).toEqual([
      'ssm:DescribeSessions allowed',
      'ssm:SendCommand explicitDeny',
      'ec2:DescribeInstances implicitDeny',
    ])
    // another user's policy is not the caller's to read; with leave to, an unknown user is NoSuchEntity
    const nobody = new SimulatePrincipalPolicyCommand({
      PolicySourceArn: `arn:aws:iam::${ACCOUNT}:user/nobody`,
      ActionNames: ['ssm:StartSession'],
    })
    expect((await rejection(iam.send(nobody))).name).toBe('AccessDenied')
    useCallerPolicy(state, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }],
    })
    try {
      expect(await rejection(iam.send(nobody))).toMatchObject({
        name: 'NoSuchEntityException',
        message: 'The user with name nobody cannot be found.',
      })
      expect((await iam.send(new GetUserCommand({}))).User).toMatchObject({
        UserName: 'sandbox-user',
        Arn: USER,
      })
    } finally {
      useCallerPolicy(state, policy)
    }
  })

  it("IAM's own calls are authorised too: AccessDenied in IAM's words", async () => {
    const iam = new IAMClient(config(testCredentials, 'us-east-1'))
    useCallerPolicy(state, {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'iam:SimulatePrincipalPolicy',
          Resource: 'arn:aws:iam::*:user/${aws:username}',
        },
      ],
    })
    try {
      await iam.send(
        new SimulatePrincipalPolicyCommand({ PolicySourceArn: USER, ActionNames: ['ssm:StartSession'] }),
      )
      expect(await rejection(iam.send(new GetUserCommand({})))).toEqual({
        name: 'AccessDenied',
        status: 403,
        message: `User: ${USER} is not authorized to perform: iam:GetUser on resource: ${USER} because no identity-based policy allows the iam:GetUser action`,
      })
    } finally {
      useCallerPolicy(state, policy)
    }
  })
})
