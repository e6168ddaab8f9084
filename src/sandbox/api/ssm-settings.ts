// GetServiceSetting / UpdateServiceSetting / ResetServiceSetting for the one setting ssm-ssh reads:
// /ssm/managed-instance/activation-tier ("standard" | "advanced"). Session Manager reaches a managed
// (mi-) node only on the advanced tier (seed 004). A setting never changed reads Status "Default".
import type { SandboxState } from '../model.ts'
import { awsError } from './errors.ts'
import { type Body, Checker } from './validate.ts'

export const ACTIVATION_TIER = '/ssm/managed-instance/activation-tier'
const TIERS = ['standard', 'advanced']
const NOT_FOUND =
  "The specified service setting wasn't found. Either the service name or the setting hasn't been provisioned by the AWS service team."

function settingIdOf(body: Body): string {
  new Checker(body).required('SettingId').length('SettingId', 1, 1000).done()
  const id = body.SettingId as string
  if (id !== ACTIVATION_TIER && !id.endsWith(`:servicesetting${ACTIVATION_TIER}`))
    throw awsError('ServiceSettingNotFound', NOT_FOUND)
  return ACTIVATION_TIER
}

function shape(state: SandboxState) {
  const t = state.activationTier
  return {
    ServiceSetting: {
      SettingId: ACTIVATION_TIER,
      SettingValue: t.value,
      LastModifiedDate: t.modifiedAt.getTime() / 1000,
      LastModifiedUser: t.modifiedBy,
      ARN: `arn:aws:ssm:${state.region}:${state.accountId}:servicesetting${ACTIVATION_TIER}`,
      Status: t.customized ? 'Customized' : 'Default',
    },
  }
}

export function getServiceSetting(state: SandboxState, body: Body) {
  settingIdOf(body)
  return shape(state)
}

export function updateServiceSetting(state: SandboxState, body: Body, callerArn: string) {
  settingIdOf(body)
  new Checker(body).required('SettingValue').length('SettingValue', 1, 4096).done()
  const value = body.SettingValue as string
  if (!TIERS.includes(value))
    throw awsError('ValidationException', `Invalid value ${value} for setting ${ACTIVATION_TIER}`)
  state.activationTier = { value, customized: true, modifiedAt: state.now(), modifiedBy: callerArn }
  return {}
}

export function resetServiceSetting(state: SandboxState, body: Body) {
  settingIdOf(body)
  state.activationTier = {
    value: 'standard',
    customized: false,
    modifiedAt: state.now(),
    modifiedBy: 'System',
  }
  return shape(state)
}
