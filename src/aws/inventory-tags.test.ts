// SSM tags at scale: the inventory reads them with the Tagging API's GetResources (100 nodes a page,
// no call per node) and, for a role that may not call tag:GetResources, with ListTagsForResource.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Sandbox, startSandbox } from '../sandbox/sandbox.ts'
import { type AwsClients, createAwsClients } from './clients.ts'
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
const calls = (operation: string) => box.state.requests.filter((r) => r.operation === operation).length
const ssmTagsOf = (b: Sandbox) =>
  Object.fromEntries(
    [...b.state.instances.values()]
      .filter((i) => i.kind === 'hybrid')
      .map((i) => [i.id, Object.fromEntries(i.tags)]),
  )

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssm-ssh-tags-test-'))
  box = await startSandbox({ fleet: 450, stateDir: join(dir, 'sandbox') })
})
afterAll(async () => {
  await box.close()
  await rm(dir, { recursive: true, force: true })
})

describe('SSM tags in the inventory', () => {
  it('come from GetResources, 100 managed instances a call, with no call per node', async () => {
    const before = { pages: calls('GetResources'), each: calls('ListTagsForResource') }
    const listed = await loadInventory(clientsFor(box), { ssmTags: true })
    const hybrid = Object.keys(ssmTagsOf(box))
    expect(
      Object.fromEntries(listed.filter((i) => i.id.startsWith('mi-')).map((i) => [i.id, i.tags])),
    ).toEqual(ssmTagsOf(box))
    expect(calls('GetResources') - before.pages).toBe(Math.ceil(hybrid.length / 100))
    expect(calls('ListTagsForResource') - before.each).toBe(0)
  })

  it('come from ListTagsForResource, node by node, when tag:GetResources is denied', async () => {
    const clients = clientsFor(box)
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
    ).toEqual(ssmTagsOf(box))
    expect(calls('ListTagsForResource') - before).toBe(Object.keys(ssmTagsOf(box)).length)
  })

  it('any other GetResources failure is the listing’s failure, said once', async () => {
    const clients = clientsFor(box)
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
