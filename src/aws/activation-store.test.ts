// ensureActivation against the sandbox's SSM API with the real SDK: reuse while valid, replacement
// when full, deleted or expired, and one activation between concurrent runs — through the lock, a
// stale lock's take-over race included.
import type { Server } from 'node:http'
import {
  DeleteActivationCommand,
  GetParameterCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { registerWithActivation } from '../sandbox/api/ssm-activations.ts'
import { serveApi, testCredentials, testState } from '../sandbox/api/test-server.ts'
import type { SandboxState } from '../sandbox/model.ts'
import { ensureActivation, listActivations, removeActivation } from './activation-store.ts'
import { type AwsClients, createAwsClients } from './clients.ts'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = '1'
process.env.AWS_EC2_METADATA_DISABLED = 'true'

const role = 'SSMServiceRole'

let state: SandboxState
let server: Server
let clients: AwsClients
let ssm: SSMClient
beforeEach(async () => {
  state = testState(0, 1)
  let endpoint: string
  ;({ server, endpoint } = await serveApi(state))
  clients = createAwsClients({ endpoint, region: 'eu-west-1', credentials: testCredentials })
  ssm = new SSMClient({ endpoint, region: 'eu-west-1', credentials: testCredentials })
})
afterEach(() => {
  server.close()
})

const creates = () =>
  state.requests.filter((r) => r.operation === 'CreateActivation' && r.status === 200).length
const fill = (id: string, code: string) => {
  const a = state.activations.get(id)
  while (a && a.registrationsCount < a.registrationLimit) registerWithActivation(state, id, code, state.now())
}

describe('ensureActivation', () => {
  it('creates once, then reuses; the code is stored as a SecureString and never in the steps', async () => {
    const steps: string[] = []
    const first = await ensureActivation(clients, {
      role,
      limit: 5,
      days: 30,
      tags: { site: 'home' },
      namePrefix: 'pi',
      onStep: (t) => steps.push(t),
    })
    expect(first).toMatchObject({ created: true, reason: 'none' })
    const made = state.activations.get(first.activationId)
    expect(made).toMatchObject({
      iamRole: role,
      registrationLimit: 5,
      defaultInstanceName: 'pi',
      activationCode: first.activationCode,
    })
    expect(made?.tags.get('site')).toBe('home')
    expect(made!.expirationDate.getTime() - Date.now()).toBeGreaterThan(29.9 * 24 * 3600_000)
    const second = await ensureActivation(clients, { role })
    expect(second).toEqual({
      ...first,
      created: false,
      reason: undefined,
      expirationDate: second.expirationDate,
    })
    expect(second.created).toBe(false)
    const raw = await ssm.send(new GetParameterCommand({ Name: '/hybrid/ssm-ssh/activation' }))
    expect(raw.Parameter?.Type).toBe('SecureString')
    expect(raw.Parameter?.Value).not.toContain(first.activationCode)
    expect(steps.join('\n')).not.toContain(first.activationCode)
    expect(creates()).toBe(1)
    expect(state.parameters.has('/hybrid/ssm-ssh/activation.lock')).toBe(false)
  })

  it('replaces a full, a deleted and an expired activation', async () => {
    const a = await ensureActivation(clients, { role, limit: 2 })
    fill(a.activationId, a.activationCode)
    const b = await ensureActivation(clients, { role, limit: 2 })
    expect(b).toMatchObject({ created: true, replaced: a.activationId, reason: 'full' })
    await ssm.send(new DeleteActivationCommand({ ActivationId: b.activationId }))
    const c = await ensureActivation(clients, { role, limit: 2 })
    expect(c).toMatchObject({ created: true, replaced: b.activationId, reason: 'deleted' })
    // the service's clock passes the expiry
    state.activations.get(c.activationId)!.expirationDate = new Date(Date.now() - 1000)
    const d = await ensureActivation(clients, { role, limit: 2 })
    expect(d).toMatchObject({ created: true, replaced: c.activationId, reason: 'expired' })
    expect(creates()).toBe(4)
  })

  it('ten concurrent runs against a full activation create exactly one', async () => {
    const a = await ensureActivation(clients, { role, limit: 5 })
    fill(a.activationId, a.activationCode)
    const results = await Promise.all(
      Array.from({ length: 10 }, () => ensureActivation(clients, { role, limit: 5 })),
    )
    expect(results.filter((r) => r.created)).toHaveLength(1)
    expect(new Set(results.map((r) => r.activationId)).size).toBe(1)
    expect(results[0]?.activationId).not.toBe(a.activationId)
    expect(creates()).toBe(2)
    expect(state.parameters.has('/hybrid/ssm-ssh/activation.lock')).toBe(false)
  })

  it('takes over a stale lock once, however many runs race for it', async () => {
    const stale = JSON.stringify({ owner: 'crashed-run', expires: new Date(Date.now() - 5000).toISOString() })
    await ssm.send(
      new PutParameterCommand({ Name: '/hybrid/ssm-ssh/activation.lock', Value: stale, Type: 'String' }),
    )
    const steps: string[] = []
    const results = await Promise.all(
      Array.from({ length: 6 }, () => ensureActivation(clients, { role, onStep: (t) => steps.push(t) })),
    )
    expect(results.filter((r) => r.created)).toHaveLength(1)
    expect(new Set(results.map((r) => r.activationId)).size).toBe(1)
    expect(creates()).toBe(1)
    // every racer overwrote the stale lock, yet only one read its own write right after the stale one
    expect(steps.filter((s) => s.startsWith('took over a stale lock of crashed-run'))).toHaveLength(1)
    expect(state.requests.filter((r) => r.operation === 'GetParameterHistory').length).toBeGreaterThanOrEqual(
      2,
    )
    expect(state.parameters.has('/hybrid/ssm-ssh/activation.lock')).toBe(false)
  })

  it('waits for a live lock and then reuses what its holder stored', async () => {
    const live = JSON.stringify({ owner: 'other-run', expires: new Date(Date.now() + 60_000).toISOString() })
    await ssm.send(
      new PutParameterCommand({ Name: '/hybrid/ssm-ssh/activation.lock', Value: live, Type: 'String' }),
    )
    const steps: string[] = []
    const waiting = ensureActivation(clients, { role, onStep: (t) => steps.push(t) })
    await new Promise((r) => setTimeout(r, 600))
    // the holder finishes: it stores an activation and releases the lock
    const other = await ensureActivation(clients, { role, parameterName: '/elsewhere/activation' })
    const storedValue = state.parameters.get('/elsewhere/activation')!.versions.at(-1)!.value
    await ssm.send(
      new PutParameterCommand({
        Name: '/hybrid/ssm-ssh/activation',
        Value: storedValue,
        Type: 'SecureString',
      }),
    )
    state.parameters.delete('/hybrid/ssm-ssh/activation.lock')
    const result = await waiting
    expect(result).toMatchObject({ created: false, activationId: other.activationId })
    expect(steps).toContain('waiting for other-run to finish with the activation')
    expect(creates()).toBe(1)
  })

  it('gives up on a live lock after the wait, naming the holder', async () => {
    const live = JSON.stringify({ owner: 'other-run', expires: new Date(Date.now() + 60_000).toISOString() })
    await ssm.send(
      new PutParameterCommand({ Name: '/hybrid/ssm-ssh/activation.lock', Value: live, Type: 'String' }),
    )
    await expect(ensureActivation(clients, { role, waitMs: 500 })).rejects.toThrow(
      'timed out waiting for the lock /hybrid/ssm-ssh/activation.lock on the activation (held by other-run)',
    )
  })

  it('lists without codes and removes, clearing the stored pointer', async () => {
    const a = await ensureActivation(clients, { role })
    const rows = await listActivations(clients)
    expect(rows).toEqual([expect.objectContaining({ activationId: a.activationId, current: true })])
    expect(JSON.stringify(rows)).not.toContain(a.activationCode)
    expect(await removeActivation(clients, a.activationId)).toEqual({ clearedStored: true })
    expect(state.activations.size).toBe(0)
    expect(state.parameters.has('/hybrid/ssm-ssh/activation')).toBe(false)
    await expect(removeActivation(clients, a.activationId)).rejects.toThrow(`no activation ${a.activationId}`)
  })
})
