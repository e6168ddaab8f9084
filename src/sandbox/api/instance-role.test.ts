import type { Server } from 'node:http'
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SandboxState } from '../model.ts'
import { serveApi, testState } from './test-server.ts'

describe("an instance role's credentials endpoint", () => {
  let state: SandboxState
  let server: Server
  let endpoint: string
  // the SDK signs with the real time, so the sandbox's clock starts there
  let clock = new Date()
  let id = ''
  beforeAll(async () => {
    state = testState(12, 1, { now: () => clock })
    const pi = [...state.instances.values()].find((i) => i.kind === 'hybrid')
    if (!pi) throw new Error('no hybrid instance')
    id = pi.id
    pi.roleToken = 'the-role-token-of-this-instance'
    ;({ server, endpoint } = await serveApi(state))
  })
  afterAll(() => server.close())

  const ask = (token: string) =>
    fetch(`${endpoint}/v2/credentials/${id}`, { headers: { authorization: token } })
  const ssmWith = (c: { AccessKeyId: string; SecretAccessKey: string; Token: string }) =>
    new SSMClient({
      endpoint,
      region: 'eu-west-1',
      maxAttempts: 1,
      credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token },
    })
  const describeOnce = (client: SSMClient) =>
    client.send(new DescribeInstanceInformationCommand({ MaxResults: 5 })).then(
      () => 'ok',
      (e: Error) => e.name,
    )

  it('refuses a wrong token', async () => {
    const res = await ask('not-the-token-of-this-instance')
    expect(res.status).toBe(403)
  })

  it('hands out temporary credentials the API accepts, with their session token only', async () => {
    const res = await ask('the-role-token-of-this-instance')
    expect(res.status).toBe(200)
    const c = (await res.json()) as {
      AccessKeyId: string
      SecretAccessKey: string
      Token: string
      Expiration: string
    }
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/)
    // six hours, in whole seconds as the endpoint writes it
    expect(Math.ceil((Date.parse(c.Expiration) - clock.getTime()) / 1000)).toBe(6 * 3600)
    expect(await describeOnce(ssmWith(c))).toBe('ok')
    expect(await describeOnce(ssmWith({ ...c, Token: 'forged' }))).toBe('UnrecognizedClientException')
    // the same credentials until less than an hour is left, then new ones; the old expire in time
    clock = new Date(clock.getTime() + 5.5 * 3600_000)
    const renewed = (await (await ask('the-role-token-of-this-instance')).json()) as typeof c
    expect(renewed.AccessKeyId).not.toBe(c.AccessKeyId)
    expect(state.credentials.get(c.AccessKeyId)?.expiresAt?.getTime()).toBeLessThan(
      clock.getTime() + 3600_000,
    )
    // back to the real time to sign, the old credentials now past their end
    const old = state.credentials.get(c.AccessKeyId)
    if (old) old.expiresAt = new Date(Date.now() - 1000)
    clock = new Date()
    expect(await describeOnce(ssmWith(c))).toBe('ExpiredTokenException')
    expect(await describeOnce(ssmWith(renewed))).toBe('ok')
  })
})
