// The inventory against the in-process sandbox: every instance with its tags, the 50-a-page fallback
// when DescribeInstanceProperties is denied, throttling retried, and the on-disk cache; SSM tags from
// the Tagging API's GetResources (100 nodes a call), node by node where tag:GetResources is denied.
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseFaults } from '../sandbox/faults.ts'
import { type Sandbox, startSandbox } from '../sandbox/sandbox.ts'
import { silentLog } from '../support/log.ts'
import { type AwsClients, createAwsClients } from './clients.ts'
import { getFleet } from './fleet.ts'
import { loadInventory } from './inventory.ts'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = '1'
process.env.AWS_EC2_METADATA_DISABLED = 'true'

let box: Sandbox
let dir: string
const clientsFor = (b: Sandbox): AwsClients =>
  createAwsClients({
    endpoint: b.endpoint,
    region: b.region,
    credentials: { accessKeyId: b.accessKeyId, secretAccessKey: b.secretAccessKey },
  })

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssm-ssh-fleet-test-'))
  box = await startSandbox({ fleet: 120, stateDir: join(dir, 'sandbox') })
})
afterAll(async () => {
  await box.close()
  await rm(dir, { recursive: true, force: true })
})

const expectSameAsSandbox = (listed: Awaited<ReturnType<typeof loadInventory>>, b: Sandbox) => {
  expect(listed.map((i) => i.id).sort()).toEqual([...b.state.instances.keys()].sort())
  for (const i of listed) {
    const sim = b.state.instances.get(i.id)
    expect(i.tags).toEqual(Object.fromEntries(sim?.tags ?? []))
    if (sim?.tags.get('Name')) expect(i.name).toBe(sim.tags.get('Name'))
    expect(i.computerName).toBe(sim?.computerName)
    expect(i.pingStatus).toBe(sim?.pingStatus)
  }
}

describe('loadInventory', () => {
  it('lists every instance with EC2 tags for i- and SSM tags for mi-', async () => {
    expectSameAsSandbox(await loadInventory(clientsFor(box), { ssmTags: true }), box)
  })

  it('falls back to DescribeInstanceInformation (50 a page) when DescribeInstanceProperties is denied', async () => {
    const clients = clientsFor(box)
    const ssm = await clients.ssm()
    const calls: string[] = []
    ssm.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(context.commandName ?? '')
        if (context.commandName === 'DescribeInstancePropertiesCommand') {
          throw Object.assign(new Error('not authorized to perform ssm:DescribeInstanceProperties'), {
            name: 'AccessDeniedException',
          })
        }
        return next(args)
      },
      { step: 'initialize' },
    )
    const listed = await loadInventory(clients, { ssmTags: false, ec2Tags: false })
    expect(listed).toHaveLength(120)
    expect(calls.filter((c) => c === 'DescribeInstanceInformationCommand')).toHaveLength(3) // 50+50+20
  })

  it('retries throttled calls until the listing and tags are complete', async () => {
    const throttled = await startSandbox({
      fleet: 30,
      faults: parseFaults('throttle=0.2'),
      stateDir: join(dir, 'throttled'),
    })
    try {
      expectSameAsSandbox(await loadInventory(clientsFor(throttled), { ssmTags: true }), throttled)
      const refused = throttled.state.requests.filter((r) => r.status >= 400)
      expect(refused.length).toBeGreaterThan(0)
      expect(new Set(refused.map((r) => r.errorCode))).toEqual(
        new Set(
          refused.map((r) =>
            r.service === 'ec2'
              ? 'RequestLimitExceeded'
              : r.service === 'tagging'
                ? 'ThrottledException'
                : 'ThrottlingException',
          ),
        ),
      )
    } finally {
      await throttled.close()
    }
  })
})

describe('getFleet', () => {
  it('caches per profile+region (0600), answers from the cache within the TTL, lists anew at maxAge 0', async () => {
    const cacheDir = join(dir, 'cache')
    let now = new Date('2026-01-01T00:00:00Z')
    const src = { clients: clientsFor(box), cacheDir, profile: 'dev', now: () => now, log: silentLog }
    const first = await getFleet(src)
    expect(first.fromCache).toBe(false)
    expect(first.instances).toHaveLength(120)

    now = new Date(now.getTime() + 60_000)
    const second = await getFleet(src)
    expect(second.fromCache).toBe(true)
    expect(second.instances.map((i) => i.id)).toEqual(first.instances.map((i) => i.id))
    expect(second.instances.find((i) => i.lastPing)?.lastPing).toBeInstanceOf(Date)

    const { readdir } = await import('node:fs/promises')
    const files = await readdir(cacheDir)
    expect(files).toHaveLength(1)
    expect(files[0]).toMatch(/^inventory-dev_127\.0\.0\.1_\d+-eu-west-1\.json$/)
    expect((await stat(join(cacheDir, files[0] as string))).mode & 0o777).toBe(0o600)

    now = new Date(now.getTime() + 10 * 60_000) // past the 5-minute TTL
    expect((await getFleet(src)).fromCache).toBe(false)
    expect((await getFleet(src, 0)).fromCache).toBe(false) // --refresh
  })
})

describe('SSM tags in the inventory', () => {
  // several GetResources pages' worth of managed instances
  let tagged: Sandbox
  const calls = (operation: string) => tagged.state.requests.filter((r) => r.operation === operation).length
  const ssmTagsOf = (b: Sandbox) =>
    Object.fromEntries(
      [...b.state.instances.values()]
        .filter((i) => i.kind === 'hybrid')
        .map((i) => [i.id, Object.fromEntries(i.tags)]),
    )
  beforeAll(async () => {
    tagged = await startSandbox({ fleet: 450, stateDir: join(dir, 'tagged') })
  })
  afterAll(async () => tagged.close())

  it('come from GetResources, 100 managed instances a call, with no call per node', async () => {
    const before = { pages: calls('GetResources'), each: calls('ListTagsForResource') }
    const listed = await loadInventory(clientsFor(tagged), { ssmTags: true })
    const hybrid = Object.keys(ssmTagsOf(tagged))
    expect(
      Object.fromEntries(listed.filter((i) => i.id.startsWith('mi-')).map((i) => [i.id, i.tags])),
    ).toEqual(ssmTagsOf(tagged))
    expect(calls('GetResources') - before.pages).toBe(Math.ceil(hybrid.length / 100))
    expect(calls('ListTagsForResource') - before.each).toBe(0)
  })

  it('come from ListTagsForResource, node by node, when tag:GetResources is denied', async () => {
    const clients = clientsFor(tagged)
    const tagging = await clients.tagging()
    tagging.middlewareStack.add(
      () => async () => {
        throw Object.assign(new Error('not authorized to perform: tag:GetResources'), {
          name: 'AccessDeniedException',
        })
      },
      { step: 'initialize' },
    )
    const before = calls('ListTagsForResource')
    const listed = await loadInventory(clients, { ssmTags: true })
    expect(
      Object.fromEntries(listed.filter((i) => i.id.startsWith('mi-')).map((i) => [i.id, i.tags])),
    ).toEqual(ssmTagsOf(tagged))
    expect(calls('ListTagsForResource') - before).toBe(Object.keys(ssmTagsOf(tagged)).length)
  })

  it('any other GetResources failure is the listing’s failure, said once', async () => {
    const clients = clientsFor(tagged)
    const tagging = await clients.tagging()
    tagging.middlewareStack.add(
      () => async () => {
        throw Object.assign(new Error('boom'), { name: 'InternalServiceException' })
      },
      { step: 'initialize' },
    )
    await expect(loadInventory(clients, { ssmTags: true })).rejects.toThrow(
      /reading instance tags failed: InternalServiceException: boom/,
    )
  })
})
