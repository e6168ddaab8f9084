import type { Server } from 'node:http'
import {
  GetServiceSettingCommand,
  ResetServiceSettingCommand,
  SSMClient,
  UpdateServiceSettingCommand,
} from '@aws-sdk/client-ssm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { noFaults } from '../faults.ts'
import type { SandboxState } from '../model.ts'
import { createState } from '../state.ts'
import { getServiceSetting } from './ssm-settings.ts'
import { idleAgent, serveApi, testCredentials, testState } from './test-server.ts'

const TIER = '/ssm/managed-instance/activation-tier'

describe('GetServiceSetting / UpdateServiceSetting / ResetServiceSetting: the activation tier', () => {
  let state: SandboxState
  let server: Server
  let ssm: SSMClient
  beforeAll(async () => {
    state = testState(5, 1)
    const served = await serveApi(state, idleAgent, noFaults)
    server = served.server
    ssm = new SSMClient({
      endpoint: served.endpoint,
      region: 'eu-west-1',
      credentials: testCredentials,
      maxAttempts: 1,
    })
  })
  afterAll(() => {
    ssm.destroy()
    server.close()
  })

  it('reads advanced by default (Session Manager reaches mi- nodes), with the setting’s ARN', async () => {
    const out = await ssm.send(new GetServiceSettingCommand({ SettingId: TIER }))
    expect(out.ServiceSetting).toMatchObject({
      SettingId: TIER,
      SettingValue: 'advanced',
      ARN: `arn:aws:ssm:eu-west-1:${state.accountId}:servicesetting${TIER}`,
      Status: 'Customized',
    })
    expect(out.ServiceSetting?.LastModifiedDate).toBeInstanceOf(Date)
  })

  it('changes to standard by id or ARN, naming who changed it; reset is the default, standard', async () => {
    const arn = `arn:aws:ssm:eu-west-1:${state.accountId}:servicesetting${TIER}`
    await ssm.send(new UpdateServiceSettingCommand({ SettingId: arn, SettingValue: 'standard' }))
    const changed = await ssm.send(new GetServiceSettingCommand({ SettingId: TIER }))
    expect(changed.ServiceSetting).toMatchObject({ SettingValue: 'standard', Status: 'Customized' })
    expect(changed.ServiceSetting?.LastModifiedUser).toMatch(/^arn:aws:iam::\d{12}:user\//)
    const reset = await ssm.send(new ResetServiceSettingCommand({ SettingId: TIER }))
    expect(reset.ServiceSetting).toMatchObject({
      SettingValue: 'standard',
      Status: 'Default',
      LastModifiedUser: 'System',
    })
  })

  it('refuses an unknown setting and a value that is not a tier', async () => {
    await expect(ssm.send(new GetServiceSettingCommand({ SettingId: '/ssm/nothing' }))).rejects.toMatchObject(
      {
        name: 'ServiceSettingNotFound',
      },
    )
    await expect(
      ssm.send(new UpdateServiceSettingCommand({ SettingId: TIER, SettingValue: 'premium' })),
    ).rejects.toMatchObject({ name: 'ValidationException' })
    await expect(ssm.send(new GetServiceSettingCommand({ SettingId: '' }))).rejects.toMatchObject({
      name: 'ValidationException',
    })
  })
})

describe('the sandbox option activationTier', () => {
  it("standard: the account's setting as AWS has it before anyone changes it", () => {
    const base = testState(1, 1)
    const state = createState({
      region: 'eu-west-1',
      accountId: '123456789012',
      accessKeyId: 'AKIASANDBOXTEST',
      secretAccessKey: 'x',
      stateDir: base.stateDir,
      fleet: { instances: [], privateHosts: [] },
      activationTier: 'standard',
    })
    expect(getServiceSetting(state, { SettingId: TIER }).ServiceSetting).toMatchObject({
      SettingValue: 'standard',
      Status: 'Default',
      LastModifiedUser: 'System',
    })
  })
})
