import type { Server } from 'node:http'
import { DescribeInstancesCommand, EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2'
import { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect'
import {
  AddTagsToResourceCommand,
  DescribeInstanceInformationCommand,
  DescribeSessionsCommand,
  GetCommandInvocationCommand,
  ListTagsForResourceCommand,
  paginateDescribeInstanceInformation,
  paginateDescribeInstanceProperties,
  ResumeSessionCommand,
  SendCommandCommand,
  SSMClient,
  StartSessionCommand,
  TerminateSessionCommand,
} from '@aws-sdk/client-ssm'
import { ConfiguredRetryStrategy } from '@smithy/core/retry'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { noFaults, parseFaults } from '../faults.ts'
import type { SandboxState } from '../model.ts'
import type { RunScript } from './command-runner.ts'
import { serveApi, testCredentials, testState } from './test-server.ts'

const creds = testCredentials
const echoAgent: RunScript = async (_id, script) => ({
  exitCode: script.includes('fail') ? 2 : 0,
  stdout: `ran: ${script}\n`,
  stderr: '',
})
const serve = (state: SandboxState, faults = noFaults) => serveApi(state, echoAgent, faults)

describe('sandbox API with the real AWS SDK', () => {
  let state: SandboxState
  let server: Server
  let endpoint: string
  let ssm: SSMClient
  const config = () => ({ endpoint, region: 'eu-west-1', credentials: creds, maxAttempts: 1 })
  const byName = (name: string) => [...state.instances.values()].find((i) => i.tags.get('Name') === name)!
  beforeAll(async () => {
    state = testState(120, 5)
    ;({ server, endpoint } = await serve(state))
    ssm = new SSMClient(config())
  })
  afterAll(() => server.close())

  it('lists every instance across pages of DescribeInstanceInformation and DescribeInstanceProperties', async () => {
    const ids: string[] = []
    for await (const p of paginateDescribeInstanceInformation({ client: ssm, pageSize: 50 }, {})) {
      expect(p.InstanceInformationList!.length).toBeLessThanOrEqual(50)
      ids.push(...p.InstanceInformationList!.map((i) => i.InstanceId!))
    }
    expect(new Set(ids).size).toBe(120)
    let pages = 0
    const props: string[] = []
    for await (const p of paginateDescribeInstanceProperties({ client: ssm, pageSize: 1000 }, {})) {
      pages++
      props.push(...p.InstanceProperties!.map((i) => i.Name!))
    }
    expect(pages).toBe(1)
    expect(props).toContain('pi-kitchen')
    const kitchen = (
      await ssm.send(
        new DescribeInstanceInformationCommand({ Filters: [{ Key: 'tag:Name', Values: ['pi-kitchen'] }] }),
      )
    ).InstanceInformationList!
    expect(kitchen).toHaveLength(1)
    expect(kitchen[0]).toMatchObject({
      ComputerName: 'pi-kitchen.local',
      ResourceType: 'ManagedInstance',
      PingStatus: 'Online',
    })
    expect(kitchen[0]!.LastPingDateTime).toBeInstanceOf(Date)
  })

  it('enforces limits and filter rules with AWS errors', async () => {
    await expect(ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 100 }))).rejects.toMatchObject(
      {
        name: 'ValidationException',
        message:
          "1 validation error detected: Value '100' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50",
      },
    )
    await expect(
      ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'Bogus', Values: ['x'] }] })),
    ).rejects.toMatchObject({ name: 'InvalidFilterKey' })
    await expect(
      ssm.send(new DescribeInstanceInformationCommand({ NextToken: 'garbage' })),
    ).rejects.toMatchObject({ name: 'InvalidNextToken' })
    await expect(
      ssm.send(
        new DescribeInstanceInformationCommand({
          Filters: [
            { Key: 'tag:Name', Values: ['a'] },
            { Key: 'PingStatus', Values: ['Online'] },
          ],
        }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } })
  })

  it('starts, resumes, describes and terminates sessions; refuses offline and too-old agents', async () => {
    const pi = byName('pi-kitchen')
    const out = await ssm.send(
      new StartSessionCommand({
        Target: pi.id,
        DocumentName: 'AWS-StartSSHSession',
        Parameters: { portNumber: ['22'] },
        Reason: 'test',
      }),
    )
    expect(out.SessionId).toMatch(/^sandbox-user-[0-9a-f]{17}$/)
    expect(out.StreamUrl).toBe(
      `${endpoint.replace('http', 'ws')}/v1/data-channel/${out.SessionId}?role=publish_subscribe`,
    )
    const resumed = await ssm.send(new ResumeSessionCommand({ SessionId: out.SessionId }))
    expect(resumed.TokenValue).not.toBe(out.TokenValue)
    const active = await ssm.send(new DescribeSessionsCommand({ State: 'Active' }))
    expect(active.Sessions!.map((s) => s.SessionId)).toContain(out.SessionId)
    await ssm.send(new TerminateSessionCommand({ SessionId: out.SessionId }))
    await expect(ssm.send(new ResumeSessionCommand({ SessionId: out.SessionId }))).rejects.toMatchObject({
      name: 'DoesNotExistException',
    })
    for (const name of ['pi-offline', 'pi-old']) {
      const id = byName(name).id
      await expect(
        ssm.send(new StartSessionCommand({ Target: id, DocumentName: 'AWS-StartSSHSession' })),
      ).rejects.toMatchObject({
        name: 'TargetNotConnected',
        message: `${id} is not connected.`,
      })
    }
    await expect(
      ssm.send(new StartSessionCommand({ Target: pi.id, DocumentName: 'AWS-Nope' })),
    ).rejects.toMatchObject({ name: 'InvalidDocument' })
    // remote-host forwarding needs agent 3.1.1374.0 and a host parameter
    await expect(
      ssm.send(
        new StartSessionCommand({
          Target: byName('pi-gateway').id,
          DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
          Parameters: { portNumber: ['22'] },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameters' })
  })

  it('tags hybrid nodes only', async () => {
    const pi = byName('pi-garage')
    await ssm.send(
      new AddTagsToResourceCommand({
        ResourceType: 'ManagedInstance',
        ResourceId: pi.id,
        Tags: [{ Key: 'ssm-ssh:user', Value: 'pi' }],
      }),
    )
    const tags = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: pi.id }),
    )
    expect(tags.TagList).toContainEqual({ Key: 'ssm-ssh:user', Value: 'pi' })
    await expect(
      ssm.send(
        new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: byName('web-1').id }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidResourceType',
    })
  })

  it('runs commands with the invocation-visibility lag', async () => {
    const pi = byName('pi-attic')
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [pi.id],
        Parameters: { commands: ['echo hi'] },
      }),
    )
    const commandId = sent.Command!.CommandId!
    await expect(
      ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: pi.id })),
    ).rejects.toMatchObject({ name: 'InvocationDoesNotExist' })
    let status = ''
    let output = ''
    for (let i = 0; i < 50 && status !== 'Success'; i++) {
      await new Promise((r) => setTimeout(r, 100))
      try {
        const inv = await ssm.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: pi.id }),
        )
        status = inv.Status!
        output = inv.StandardOutputContent!
      } catch (error) {
        expect((error as Error).name).toBe('InvocationDoesNotExist')
      }
    }
    expect(status).toBe('Success')
    expect(output).toBe('ran: echo hi\n')
    const many = [...state.instances.keys()].slice(0, 51)
    await expect(
      ssm.send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: many,
          Parameters: { commands: ['true'] },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    })
  })

  it('pushes EC2 Instance Connect keys for 60 s and validates like AWS', async () => {
    const eic = new EC2InstanceConnectClient(config())
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0o8cQ1yAbcdefghijklmnopqrstuvwxyz0123456789AB test@x'
    const web = byName('web-1')
    const out = await eic.send(
      new SendSSHPublicKeyCommand({ InstanceId: web.id, InstanceOSUser: 'ec2-user', SSHPublicKey: key }),
    )
    expect(out.Success).toBe(true)
    expect(out.RequestId).toBe(out.$metadata.requestId)
    expect(state.pushedKeys.at(-1)).toMatchObject({ instanceId: web.id, osUser: 'ec2-user' })
    await expect(
      eic.send(
        new SendSSHPublicKeyCommand({
          InstanceId: byName('pi-kitchen').id,
          InstanceOSUser: 'pi',
          SSHPublicKey: key,
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidArgsException',
      $metadata: { httpStatusCode: 400 },
    })
    await expect(
      eic.send(
        new SendSSHPublicKeyCommand({
          InstanceId: 'i-0000000000000000f',
          InstanceOSUser: 'ec2-user',
          SSHPublicKey: key,
        }),
      ),
    ).rejects.toMatchObject({
      name: 'EC2InstanceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    })
  })

  it('answers EC2 DescribeInstances in XML with filters, pages and the 200-value cap', async () => {
    const ec2 = new EC2Client(config())
    const named = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['web-*'] }] }),
    )
    const names = named.Reservations!.flatMap((r) =>
      r.Instances!.map((i) => i.Tags!.find((t) => t.Key === 'Name')!.Value),
    )
    expect(names.sort()).toEqual(['web-1', 'web-2'])
    let count = 0
    for await (const p of paginateDescribeInstances({ client: ec2, pageSize: 5 }, {}))
      count += p.Reservations!.length
    expect(count).toBe([...state.instances.values()].filter((i) => i.kind === 'ec2').length)
    const values = Array.from({ length: 201 }, (_, i) => `n${i}`)
    await expect(
      ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: values }] })),
    ).rejects.toMatchObject({ name: 'FilterLimitExceeded' })
  })

  it('rejects bad signatures and unknown keys, and answers unknown operations', async () => {
    const wrong = new SSMClient({ ...config(), credentials: { ...creds, secretAccessKey: 'nope' } })
    await expect(wrong.send(new DescribeSessionsCommand({ State: 'Active' }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    })
    const unknown = new SSMClient({
      ...config(),
      credentials: { accessKeyId: 'AKIAOTHER', secretAccessKey: 'x' },
    })
    await expect(unknown.send(new DescribeSessionsCommand({ State: 'Active' }))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    })
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'AmazonSSM.Nope' },
      body: '{}',
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' })
  })

  it('throttles and the SDK retries', async () => {
    const t = await serve(state, parseFaults('throttle=0.5'))
    try {
      const client = new SSMClient({
        endpoint: t.endpoint,
        region: 'eu-west-1',
        credentials: creds,
        // The SDK's own retry decision (ThrottlingException is retryable) with 5 ms backoff, so the
        // suite stays fast; the default waits ~0.5 s per throttled attempt.
        retryStrategy: new ConfiguredRetryStrategy(10, 5),
      })
      let retried = 0
      for (let i = 0; i < 4; i++) {
        const out = await client.send(new DescribeSessionsCommand({ State: 'History' }))
        retried += (out.$metadata.attempts ?? 1) - 1
      }
      expect(retried).toBeGreaterThan(0)
      const once = new SSMClient({
        endpoint: t.endpoint,
        region: 'eu-west-1',
        credentials: creds,
        maxAttempts: 1,
      })
      const errors = await Promise.allSettled(
        Array.from({ length: 10 }, () => once.send(new DescribeSessionsCommand({ State: 'History' }))),
      )
      expect(
        errors.some((e) => e.status === 'rejected' && (e.reason as Error).name === 'ThrottlingException'),
      ).toBe(true)
    } finally {
      t.server.close()
    }
  })
})
