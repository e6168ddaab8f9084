// ssm:GetServiceSetting for /ssm/managed-instance/activation-tier (Session Manager reaches mi- nodes
// only on the advanced tier), and the service's clock from the same reply's Date header.
import { GetServiceSettingCommand } from '@aws-sdk/client-ssm'
import { AuthError } from '../support/errors.ts'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'

export const ACTIVATION_TIER_SETTING = '/ssm/managed-instance/activation-tier'

export interface TierAnswer {
  /** 'standard' | 'advanced', or undefined when the caller may not read it (then `denied` says why) */
  tier?: string
  denied?: string
  /** the service's clock (the reply's Date header), when it sent one */
  serviceDate?: Date
}

export async function activationTier(clients: AwsClients): Promise<TierAnswer> {
  const ssm = await clients.ssm()
  const command = new GetServiceSettingCommand({ SettingId: ACTIVATION_TIER_SETTING })
  let serviceDate: Date | undefined
  // innermost: the raw reply, error or not
  command.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args)
      const date = (out.response as { headers?: Record<string, string> }).headers?.date
      if (date && !Number.isNaN(Date.parse(date))) serviceDate = new Date(date)
      return out
    },
    { step: 'deserialize', priority: 'low', name: 'ssmSshServiceDate' },
  )
  try {
    const out = await ssm.send(command)
    return {
      ...(out.ServiceSetting?.SettingValue ? { tier: out.ServiceSetting.SettingValue } : {}),
      ...(serviceDate ? { serviceDate } : {}),
    }
  } catch (error) {
    const translated = translateAwsError(error, { operation: 'GetServiceSetting' })
    if (translated instanceof AuthError)
      return { denied: translated.message, ...(serviceDate ? { serviceDate } : {}) }
    throw translated
  }
}
