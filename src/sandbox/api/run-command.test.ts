// Run Command in the sandbox through the real SDK: Targets, MaxConcurrency and MaxErrors (counts and
// percentages), CancelCommand, ListCommands, delivery time-outs, Undeliverable, output trimmed as the
// agent trims it; and the Tagging API's GetResources with its pages and limits.
import type { Server } from 'node:http'
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api'
import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SendCommandCommandInput,
  SSMClient,
} from '@aws-sdk/client-ssm'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { SandboxState, SimInstance } from '../model.ts'
import { startCommand } from './command-runner.ts'
import type { RunScript } from './index.ts'
import { serveApi, testCredentials, testState } from './test-server.ts'

const creds = testCredentials

describe('Run Command and GetResources in the sandbox', () => {
  let state: SandboxState
  let server: Server
  let ssm: SSMClient
  let tagging: ResourceGroupsTaggingAPIClient
  let running = 0
  let mostAtOnce = 0
  // a hand-written agent: "sleep N" takes N×100 ms, "fail" exits 2, "big" prints 30,000 characters
  const runScript: RunScript = async (_id, script, opts) => {
    running++
    mostAtOnce = Math.max(mostAtOnce, running)
    const ms = Number(/sleep (\d+)/.exec(script)?.[1] ?? 0) * 100
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      opts.signal.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    running--
    if (opts.signal.aborted) return { exitCode: 137, stdout: '', stderr: '', status: 'Cancelled' }
    if (script.includes('big')) return { exitCode: 0, stdout: 'x'.repeat(30_000), stderr: 'e'.repeat(9_000) }
    return script.includes('fail')
      ? { exitCode: 2, stdout: 'partial\n', stderr: 'boom\n' }
      : { exitCode: 0, stdout: 'ok\n', stderr: '' }
  }
  const pis = () => [...state.instances.values()].filter((i) => i.tags.get('site') === 'home')
  const online = () => pis().filter((i) => i.pingStatus === 'Online')
  const send = async (input: Partial<SendCommandCommandInput>) =>
    (
      await ssm.send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
          ...input,
        }),
      )
    ).Command!.CommandId!
  const invocations = async (commandId: string) =>
    (await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true })))
      .CommandInvocations!
  const settled = (commandId: string, count: number) =>
    vi.waitFor(
      async () => {
        const list = await invocations(commandId)
        const open = list.filter((i) =>
          ['Pending', 'InProgress', 'Delayed', 'Cancelling'].includes(i.Status!),
        )
        if (list.length < count || open.length > 0) throw new Error('not yet')
        return list
      },
      { timeout: 10_000, interval: 100 },
    )

  beforeAll(async () => {
    state = testState(260, 9)
    let endpoint: string
    ;({ server, endpoint } = await serveApi(state, runScript))
    const config = { endpoint, region: 'eu-west-1', credentials: creds, maxAttempts: 1 }
    ssm = new SSMClient(config)
    tagging = new ResourceGroupsTaggingAPIClient(config)
  })
  afterAll(() => server.close())

  it('expands Targets by tag and holds to MaxConcurrency as a percentage', async () => {
    const hosts = online().slice(0, 20)
    for (const h of hosts) h.tags.set('batch', 'a')
    mostAtOnce = 0
    const id = await send({
      Targets: [{ Key: 'tag:batch', Values: ['a'] }],
      MaxConcurrency: '10%',
      Parameters: { commands: ['sleep 2'] },
    })
    const list = await settled(id, 20)
    expect(list.map((i) => i.InstanceId).sort()).toEqual(hosts.map((h) => h.id).sort())
    expect(list.every((i) => i.Status === 'Success' && i.CommandPlugins![0]!.Output === 'ok\n')).toBe(true)
    // 10% of 20 targets: two at a time
    expect(mostAtOnce).toBe(2)
    const [command] = (await ssm.send(new ListCommandsCommand({ CommandId: id }))).Commands!
    expect(command).toMatchObject({
      Status: 'Success',
      TargetCount: 20,
      CompletedCount: 20,
      ErrorCount: 0,
      MaxConcurrency: '10%',
    })
  })

  it('stops sending once more than MaxErrors failed: the rest are Terminated', async () => {
    const ids = online()
      .slice(0, 10)
      .map((i) => i.id)
    const id = await send({
      InstanceIds: ids,
      MaxConcurrency: '1',
      MaxErrors: '2',
      Parameters: { commands: ['fail'] },
    })
    const list = await settled(id, 10)
    expect(list.filter((i) => i.Status === 'Failed').map((i) => i.CommandPlugins![0]!.ResponseCode)).toEqual([
      2, 2, 2,
    ])
    expect(list.filter((i) => i.StatusDetails === 'Terminated')).toHaveLength(7)
    expect(list[0]!.CommandPlugins![0]!.Output).toBe('partial\n\n----------ERROR-------\nboom\n')
    const [command] = (await ssm.send(new ListCommandsCommand({ CommandId: id }))).Commands!
    expect(command).toMatchObject({ Status: 'Failed', ErrorCount: 3, CompletedCount: 10 })
  })

  it('CancelCommand stops running and pending invocations: none stays InProgress', async () => {
    const ids = online()
      .slice(0, 6)
      .map((i) => i.id)
    const id = await send({ InstanceIds: ids, MaxConcurrency: '2', Parameters: { commands: ['sleep 50'] } })
    await vi.waitFor(async () => expect(running).toBe(2), { timeout: 5_000, interval: 50 })
    await ssm.send(new CancelCommandCommand({ CommandId: id }))
    const list = await settled(id, 6)
    expect(list.map((i) => i.Status)).toEqual(Array(6).fill('Cancelled'))
    expect(running).toBe(0)
    const [command] = (await ssm.send(new ListCommandsCommand({ CommandId: id }))).Commands!
    expect(command!.Status).toBe('Cancelled')
    await expect(
      ssm.send(new CancelCommandCommand({ CommandId: '00000000-0000-0000-0000-000000000000' })),
    ).rejects.toMatchObject({ name: 'InvalidCommandId' })
  })

  it('offline nodes wait for delivery until TimeoutSeconds; gone ones are Undeliverable', async () => {
    const offline = pis().find((i) => i.pingStatus !== 'Online') as SimInstance
    const gone = online()[0] as SimInstance
    gone.pingStatus = 'Inactive'
    try {
      // 30 days, the longest TimeoutSeconds: further than one setTimeout can wait
      const id = await send({ InstanceIds: [offline.id, gone.id], TimeoutSeconds: 2_592_000 })
      await vi.waitFor(
        async () => {
          const list = await invocations(id)
          expect(list.find((i) => i.InstanceId === gone.id)).toMatchObject({
            Status: 'Failed',
            StatusDetails: 'Undeliverable',
          })
          expect(list.find((i) => i.InstanceId === offline.id)!.Status).toBe('Pending')
        },
        { timeout: 5_000, interval: 100 },
      )
      // the delivery deadline passed: what no agent took is Delivery Timed Out (TimeoutSeconds ≥ 30 s
      // on the wire, so the rule is checked on a command requested 31 s ago)
      const command = state.commands.get(id)!
      const late = {
        ...command,
        commandId: 'late',
        timeoutSeconds: 30,
        requestedDateTime: new Date(Date.now() - 31_000),
      }
      late.invocations = new Map([[offline.id, { ...command.invocations.get(offline.id)! }]])
      startCommand(state, late, [offline], {
        script: 'true',
        executionTimeout: 60,
        runScript,
        platforms: ['Linux'],
      })
      await vi.waitFor(() =>
        expect(late.invocations.get(offline.id)).toMatchObject({
          status: 'TimedOut',
          statusDetails: 'Delivery Timed Out',
        }),
      )
    } finally {
      gone.pingStatus = 'Online'
    }
  })

  it('keeps what the agent keeps of long output, and says so', async () => {
    const target = online()[1] as SimInstance
    const id = await send({ InstanceIds: [target.id], Parameters: { commands: ['big'] } })
    const [inv] = await settled(id, 1)
    const output = inv!.CommandPlugins![0]!.Output!
    expect(Buffer.byteLength(output)).toBeLessThanOrEqual(2500)
    expect(output).toContain('\n---Output truncated---\n----------ERROR-------\n')
    expect(output.endsWith('\n---Error truncated----')).toBe(true)
    const full = await ssm.send(new GetCommandInvocationCommand({ CommandId: id, InstanceId: target.id }))
    expect(full.StandardOutputContent).toHaveLength(24_000)
    expect(full.StandardOutputContent!.endsWith('x--output truncated--')).toBe(true)
    expect(full.StandardErrorContent).toBe('e'.repeat(8_000))
  })

  it.each([
    [{ MaxConcurrency: '0' }, 'ValidationException'],
    [{ MaxErrors: '101%' }, 'ValidationException'],
    [{ TimeoutSeconds: 29 }, 'ValidationException'],
    [{ Targets: [{ Key: 'tag:site', Values: Array(51).fill('x') }] }, 'ValidationException'],
    [{ DocumentName: 'AWS-NoSuchDocument' }, 'InvalidDocument'],
    [{ Parameters: { commands: ['true'], executionTimeout: ['0'] } }, 'InvalidParameters'],
  ])('refuses %j with %s', async (input, code) => {
    const first = online()[0] as SimInstance
    await expect(send({ InstanceIds: [first.id], ...input })).rejects.toMatchObject({ name: code })
  })

  it('GetResources: SSM tags of managed instances, 100 a page, with its limits', async () => {
    const seen = new Map<string, Record<string, string>>()
    let token: string | undefined
    let pages = 0
    do {
      const page = await tagging.send(
        new GetResourcesCommand({
          ResourceTypeFilters: ['ssm:managed-instance'],
          ...(token ? { PaginationToken: token } : {}),
        }),
      )
      pages++
      expect(page.ResourceTagMappingList!.length).toBeLessThanOrEqual(100)
      for (const r of page.ResourceTagMappingList!)
        seen.set(r.ResourceARN!, Object.fromEntries(r.Tags!.map((t) => [t.Key, t.Value])))
      token = page.PaginationToken || undefined
    } while (token)
    const hybrid = [...state.instances.values()].filter((i) => i.kind === 'hybrid')
    expect(seen.size).toBe(hybrid.length)
    expect(pages).toBe(Math.ceil(hybrid.length / 100))
    const kitchen = hybrid.find((i) => i.tags.get('Name') === 'pi-kitchen')!
    expect(seen.get(`arn:aws:ssm:eu-west-1:123456789012:managed-instance/${kitchen.id}`)).toMatchObject({
      Name: 'pi-kitchen',
      site: 'home',
    })
    await expect(tagging.send(new GetResourcesCommand({ ResourcesPerPage: 101 }))).rejects.toMatchObject({
      name: 'ValidationException',
    })
    await expect(
      tagging.send(new GetResourcesCommand({ ResourceARNList: ['arn:x'], ResourceTypeFilters: ['ssm'] })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' })
    await expect(tagging.send(new GetResourcesCommand({ PaginationToken: 'garbage' }))).rejects.toMatchObject(
      {
        name: 'InvalidParameterException',
      },
    )
  })
})
