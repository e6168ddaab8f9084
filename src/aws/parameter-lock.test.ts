// The Parameter Store lock against the sandbox with the real SDK: one holder at a time, a stale lock
// taken over by exactly one of the racers, and a holder whose lease ran out (and was taken over)
// that does not delete its successor's lock when it finally releases.
import type { Server } from 'node:http'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { serveApi, testCredentials, testState } from '../sandbox/api/test-server.ts'
import type { SandboxState } from '../sandbox/model.ts'
import { acquireParameterLock, type LockOptions, releaseParameterLock } from './parameter-lock.ts'

const NAME = '/locks/test'

let state: SandboxState
let server: Server
let ssm: SSMClient
beforeEach(async () => {
  state = testState(0, 1)
  let endpoint: string
  ;({ server, endpoint } = await serveApi(state))
  ssm = new SSMClient({ endpoint, region: 'eu-west-1', credentials: testCredentials })
})
afterEach(() => {
  server.close()
})

const options = (over: Partial<LockOptions> = {}): LockOptions => ({
  now: () => new Date(),
  ttlMs: 60_000,
  waitMs: 20_000,
  onStep: () => {},
  what: 'the test',
  ...over,
})
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('the Parameter Store lock', () => {
  it('admits one holder at a time among many', async () => {
    let inside = 0
    let most = 0
    const order: string[] = []
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const lock = await acquireParameterLock(ssm, NAME, `run-${i}`, options())
        inside++
        most = Math.max(most, inside)
        order.push(`run-${i}`)
        await sleep(30)
        inside--
        await releaseParameterLock(ssm, lock, new Date())
      }),
    )
    expect(most).toBe(1)
    expect(order).toHaveLength(6)
    expect(state.parameters.has(NAME)).toBe(false)
  })

  it('lets exactly one of the racers take over a stale lock; the rest wait for it', async () => {
    const stale = JSON.stringify({ owner: 'crashed', expires: new Date(Date.now() - 1000).toISOString() })
    await ssm.send(new PutParameterCommand({ Name: NAME, Value: stale, Type: 'String' }))
    const steps: string[] = []
    let inside = 0
    let most = 0
    await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const lock = await acquireParameterLock(
          ssm,
          NAME,
          `run-${i}`,
          options({ onStep: (t) => steps.push(t) }),
        )
        inside++
        most = Math.max(most, inside)
        await sleep(30)
        inside--
        await releaseParameterLock(ssm, lock, new Date())
      }),
    )
    expect(most).toBe(1)
    expect(steps.filter((s) => s === 'took over a stale lock of crashed')).toHaveLength(1)
    // the racers all overwrote it: versions 2.. were written by them, only one after version 1
    expect(state.requests.filter((r) => r.operation === 'GetParameterHistory').length).toBeGreaterThanOrEqual(
      2,
    )
  })

  it('a holder back after its lease ran out does not delete the lock of the run that took it over', async () => {
    const slow = await acquireParameterLock(ssm, NAME, 'slow', options({ ttlMs: 200 }))
    await sleep(300)
    const next = await acquireParameterLock(ssm, NAME, 'next', options())
    await releaseParameterLock(ssm, slow, new Date())
    expect(state.parameters.get(NAME)?.versions.at(-1)?.value).toBe(next.value)
    await releaseParameterLock(ssm, next, new Date())
    expect(state.parameters.has(NAME)).toBe(false)
  })

  it('gives up after the wait, naming the holder', async () => {
    await acquireParameterLock(ssm, NAME, 'holder', options())
    await expect(acquireParameterLock(ssm, NAME, 'waiter', options({ waitMs: 300 }))).rejects.toThrow(
      'timed out waiting for the lock /locks/test on the test (held by holder)',
    )
  })
})
