// One factory for every AWS client: region, profile and endpoint resolved the same way everywhere.
// Clients are built on first use and their SDK modules imported lazily, so commands pay only for
// the services they call.
import type { EC2Client } from '@aws-sdk/client-ec2'
import type { EC2InstanceConnectClient } from '@aws-sdk/client-ec2-instance-connect'
import type { SSMClient } from '@aws-sdk/client-ssm'
import { AuthError } from '../support/errors.ts'
import type { SsmCall } from './ssm-rpc.ts'

export interface AwsSettings {
  profile?: string
  region?: string
  /** --endpoint-url; AWS_ENDPOINT_URL and profile endpoint_url are read by the SDK itself */
  endpoint?: string
  /** retry attempts including the first (SDK default 3) */
  maxAttempts?: number
  /** static credentials (the demo's sandbox); otherwise the SDK's default chain */
  credentials?: Credentials
}

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface AwsClients {
  readonly settings: AwsSettings
  ssm(): Promise<SSMClient>
  eic(): Promise<EC2InstanceConnectClient>
  ec2(): Promise<EC2Client>
  /** One SSM operation as a plain signed request, without SSMClient (proxy's hot path, ssm-rpc.ts). */
  ssmCall: SsmCall
  /** The region the SSM client resolved (flag, env or profile). */
  region(): Promise<string>
  /** The endpoint URL in use, if any was configured; needed by the plugin fallback. */
  endpoint(): Promise<string | undefined>
  credentials(): Promise<Credentials>
}

function commonConfig(settings: AwsSettings) {
  return {
    ...(settings.region ? { region: settings.region } : {}),
    ...(settings.profile ? { profile: settings.profile } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    maxAttempts: settings.maxAttempts ?? 5,
  }
}

export function createAwsClients(settings: AwsSettings): AwsClients {
  let ssm: Promise<SSMClient> | undefined
  let eic: Promise<EC2InstanceConnectClient> | undefined
  let ec2: Promise<EC2Client> | undefined
  let call: Promise<SsmCall> | undefined
  const getSsm = () => {
    ssm ??= import('./sdk/ssm.ts').then(({ SSMClient }) => new SSMClient(commonConfig(settings)))
    return ssm
  }
  return {
    settings,
    ssm: getSsm,
    eic: () => {
      eic ??= import('./sdk/eic.ts').then(
        ({ EC2InstanceConnectClient }) => new EC2InstanceConnectClient(commonConfig(settings)),
      )
      return eic
    },
    ssmCall: async (operation, input) => {
      call ??= import('./ssm-rpc.ts').then(({ createSsmCall }) => createSsmCall(settings))
      return (await call)(operation, input)
    },
    ec2: () => {
      ec2 ??= import('./sdk/ec2.ts').then(({ EC2Client }) => new EC2Client(commonConfig(settings)))
      return ec2
    },
    region: async () => {
      const client = await getSsm()
      try {
        return await client.config.region()
      } catch (error) {
        throw new AuthError('no AWS region is configured', {
          hint: 'pass --region, set AWS_REGION, or set region in your AWS profile',
          cause: error,
        })
      }
    },
    endpoint: async () => {
      const client = await getSsm()
      if (!settings.endpoint && !client.config.endpoint) {
        // The SDK resolves AWS_ENDPOINT_URL(_SSM) and profile endpoint_url into the endpoint rules;
        // read the same sources so the plugin fallback calls the same service.
        return undefined
      }
      if (settings.endpoint) return settings.endpoint
      const ep = await client.config.endpoint?.()
      if (!ep) return undefined
      const port = ep.port ? `:${ep.port}` : ''
      return `${ep.protocol}//${ep.hostname}${port}${ep.path ?? ''}`
    },
    credentials: async () => {
      const client = await getSsm()
      try {
        const c = await client.config.credentials()
        return {
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
        }
      } catch (error) {
        throw new AuthError('no AWS credentials found', {
          hint: `run "aws sso login${settings.profile ? ` --profile ${settings.profile}` : ''}" or set AWS_PROFILE / AWS_ACCESS_KEY_ID`,
          cause: error,
        })
      }
    },
  }
}
