import type { Server } from 'node:http'
import {
  CreateActivationCommand,
  DeleteActivationCommand,
  DescribeActivationsCommand,
  paginateDescribeActivations,
  SSMClient,
} from '@aws-sdk/client-ssm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SandboxState } from '../model.ts'
import { registerWithActivation } from './ssm-activations.ts'
import { serveApi, testCredentials, testState } from './test-server.ts'

const DAY = 24 * 3600 * 1000

describe('hybrid activations with the real AWS SDK', () => {
  let state: SandboxState
  let server: Server
  let ssm: SSMClient
  let endpoint: string
  // the sandbox checks signatures against its clock, so time passes for real here (a second or two)
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  const clock = Date.now()
  beforeAll(async () => {
    state = testState(0, 1)
    ;({ server, endpoint } = await serveApi(state))
    ssm = new SSMClient({ endpoint, region: 'eu-west-1', credentials: testCredentials, maxAttempts: 1 })
  })
  afterAll(() => server.close())
  const fails = (p: Promise<unknown>) =>
    p.then(
      () => ({ name: 'none', message: '' }),
      (e: Error) => e,
    )
  const describeOne = async (id: string) =>
    (
      await ssm.send(
        new DescribeActivationsCommand({ Filters: [{ FilterKey: 'ActivationIds', FilterValues: [id] }] }),
      )
    ).ActivationList?.[0]

  it('creates with the defaults (limit 1, 24 h) and describes without the code', async () => {
    const made = await ssm.send(
      new CreateActivationCommand({ IamRole: 'SSMServiceRole', DefaultInstanceName: 'pi' }),
    )
    expect(made.ActivationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(made.ActivationCode).toMatch(/^[A-Za-z0-9]{20}$/)
    const listed = await describeOne(made.ActivationId as string)
    expect(listed).toMatchObject({
      IamRole: 'SSMServiceRole',
      DefaultInstanceName: 'pi',
      RegistrationLimit: 1,
      RegistrationsCount: 0,
      Expired: false,
    })
    expect(Math.abs((listed?.ExpirationDate?.getTime() ?? 0) - (Date.now() + DAY))).toBeLessThan(5000)
    expect(JSON.stringify(listed)).not.toContain(made.ActivationCode)
  })

  it('enforces the limit range, the 30-day horizon and the role', async () => {
    const tooMany = await fails(
      ssm.send(new CreateActivationCommand({ IamRole: 'r', RegistrationLimit: 1001 })),
    )
    expect(tooMany.message).toBe(
      "1 validation error detected: Value '1001' at 'registrationLimit' failed to satisfy constraint: Member must have value less than or equal to 1000",
    )
    const far = await fails(
      ssm.send(new CreateActivationCommand({ IamRole: 'r', ExpirationDate: new Date(clock + 31 * DAY) })),
    )
    expect(far.name).toBe('ValidationException')
    const past = await fails(
      ssm.send(new CreateActivationCommand({ IamRole: 'r', ExpirationDate: new Date(clock - 1000) })),
    )
    expect(past.name).toBe('ValidationException')
    const noRole = await fails(ssm.send(new CreateActivationCommand({} as never)))
    expect(noRole.message).toContain(
      "Value null at 'iamRole' failed to satisfy constraint: Member must not be null",
    )
    const ok = await ssm.send(
      new CreateActivationCommand({
        IamRole: 'r',
        ExpirationDate: new Date(clock + 30 * DAY),
        RegistrationLimit: 1000,
      }),
    )
    expect((await describeOne(ok.ActivationId as string))?.RegistrationLimit).toBe(1000)
  })

  it('pages, filters by role, and marks expiry with Expired', async () => {
    for (let i = 0; i < 7; i++)
      await ssm.send(
        new CreateActivationCommand({
          IamRole: 'PagedRole',
          Tags: [{ Key: 'n', Value: String(i) }],
          ExpirationDate: new Date(Date.now() + (i < 3 ? 1000 : 3600_000)),
        }),
      )
    const seen: string[] = []
    let pages = 0
    for await (const p of paginateDescribeActivations(
      { client: ssm, pageSize: 3 },
      { Filters: [{ FilterKey: 'IamRole', FilterValues: ['PagedRole'] }] },
    )) {
      pages++
      seen.push(...(p.ActivationList ?? []).map((a) => a.Tags?.[0]?.Value as string))
    }
    expect(pages).toBe(3)
    expect(seen).toEqual(['0', '1', '2', '3', '4', '5', '6'])
    await sleep(1200)
    const after = await ssm.send(
      new DescribeActivationsCommand({ Filters: [{ FilterKey: 'IamRole', FilterValues: ['PagedRole'] }] }),
    )
    expect(after.ActivationList?.map((a) => a.Expired)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ])
    const badKey = await fails(
      ssm.send(
        new DescribeActivationsCommand({ Filters: [{ FilterKey: 'Nope' as never, FilterValues: ['x'] }] }),
      ),
    )
    expect(badKey.name).toBe('ValidationException')
    expect((await fails(ssm.send(new DescribeActivationsCommand({ MaxResults: 51 })))).name).toBe(
      'ValidationException',
    )
    expect((await fails(ssm.send(new DescribeActivationsCommand({ NextToken: 'garbage' })))).name).toBe(
      'InvalidNextToken',
    )
  })

  it('deletes, then the id is gone and a second delete is InvalidActivationId', async () => {
    const made = await ssm.send(new CreateActivationCommand({ IamRole: 'r' }))
    await ssm.send(new DeleteActivationCommand({ ActivationId: made.ActivationId }))
    expect(await describeOne(made.ActivationId as string)).toBeUndefined()
    const again = await fails(ssm.send(new DeleteActivationCommand({ ActivationId: made.ActivationId })))
    expect(again.name).toBe('InvalidActivationId')
    const malformed = await fails(ssm.send(new DeleteActivationCommand({ ActivationId: 'not-a-uuid' })))
    expect(malformed.name).toBe('ValidationException')
  })

  it('RegistrationsCount against the limit decides whether a registration is accepted', async () => {
    const made = await ssm.send(new CreateActivationCommand({ IamRole: 'r', RegistrationLimit: 2 }))
    const id = made.ActivationId as string
    const code = made.ActivationCode as string
    const now = () => state.now()
    expect(() => registerWithActivation(state, id, 'wrong-code-000000000', now())).toThrow(
      /activation isn't valid/,
    )
    registerWithActivation(state, id, code, now())
    expect((await describeOne(id))?.RegistrationsCount).toBe(1)
    registerWithActivation(state, id, code, now())
    expect(() => registerWithActivation(state, id, code, now())).toThrow(
      expect.objectContaining({ code: 'RegistrationLimitExceeded' }),
    )
    expect((await describeOne(id))?.RegistrationsCount).toBe(2)
    const fresh = await ssm.send(
      new CreateActivationCommand({ IamRole: 'r', ExpirationDate: new Date(Date.now() + 1000) }),
    )
    await sleep(1200)
    expect(() =>
      registerWithActivation(state, fresh.ActivationId as string, fresh.ActivationCode as string, now()),
    ).toThrow(expect.objectContaining({ code: 'ActivationExpired' }))
  })
})
