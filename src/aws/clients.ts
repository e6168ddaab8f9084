// One factory for every AWS client: region, profile and endpoint resolved the same way everywhere.
// Clients are built on first use and their SDK modules imported lazily, so commands pay only for
// the services they call.

import type { Agent as HttpsAgent } from 'node:https'
import type { EC2Client } from '@aws-sdk/client-ec2'
import type { EC2InstanceConnectClient } from '@aws-sdk/client-ec2-instance-connect'
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api'
import type { SSMClient } from '@aws-sdk/client-ssm'
import { AuthError } from '../support/errors.ts'
import { proxyAgentFor } from '../support/proxy-agent.ts'
import type { SsmCall } from './ssm-rpc.ts'
import type { SsmTarget } from './ssm-target.ts'

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
  /** where the SDK found them (its CREDENTIALS_* feature ids), when it says */
  source?: string[]
}

export interface AwsClients {
  readonly settings: AwsSettings
  ssm(): Promise<SSMClient>
  eic(): Promise<EC2InstanceConnectClient>
  ec2(): Promise<EC2Client>
  /** Resource Groups Tagging API (GetResources: the SSM tags of managed instances, 100 a page) */
  tagging(): Promise<ResourceGroupsTaggingAPIClient>
  /** One SSM operation as a plain signed request, without SSMClient (proxy's hot path, ssm-rpc.ts). */
  ssmCall: SsmCall
  /** The region (flag, env or profile), as the SDK resolves it. */
  region(): Promise<string>
  /** The SSM endpoint URL configured (--endpoint-url, AWS_ENDPOINT_URL(_SSM), profile endpoint_url), if any. */
  endpoint(): Promise<string | undefined>
  /** The SSM endpoint URL requests go to: the configured one, else SSM's endpoint rules. */
  ssmUrl(): Promise<string>
  credentials(): Promise<Credentials>
}

/** The SDK client's request handler through the HTTPS proxy for its endpoint, when there is one. */
async function proxiedHandler(settings: AwsSettings, service: string) {
  // HTTPS_PROXY/NO_PROXY: decided for the endpoint the client will use (the configured one, from the
  // flag, the profile or AWS_ENDPOINT_URL[_SERVICE], else the region's public one)
  const probe =
    settings.endpoint ??
    process.env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] ??
    process.env.AWS_ENDPOINT_URL ??
    `https://${service === 'ec2_instance_connect' ? 'ec2-instance-connect' : service === 'resource_groups_tagging_api' ? 'tagging' : service}.${settings.region ?? 'us-east-1'}.amazonaws.com`
  const agent = await proxyAgentFor(probe)
  if (!agent) return {}
  const { NodeHttpHandler } = await import('@smithy/node-http-handler')
  return { requestHandler: new NodeHttpHandler({ httpAgent: agent, httpsAgent: agent as HttpsAgent }) }
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

/**
 * Keys in the environment, as the AWS CLI takes them before AWS_PROFILE's (botocore's chain starts
 * with them): the SDK's chain takes AWS_PROFILE's instead, and prints a multi-line "Multiple
 * credential sources detected" warning that reached ssh's terminal. An explicit --profile still wins.
 */
export function environmentCredentials(env: NodeJS.ProcessEnv): Credentials | undefined {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env
  if (!accessKeyId || !secretAccessKey) return undefined
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  }
}

export function createAwsClients(given: AwsSettings, env: NodeJS.ProcessEnv = process.env): AwsClients {
  const fromEnv = given.credentials || given.profile ? undefined : environmentCredentials(env)
  const settings: AwsSettings = fromEnv ? { ...given, credentials: fromEnv } : given
  let ssm: Promise<SSMClient> | undefined
  let eic: Promise<EC2InstanceConnectClient> | undefined
  let ec2: Promise<EC2Client> | undefined
  let tagging: Promise<ResourceGroupsTaggingAPIClient> | undefined
  let call: Promise<SsmCall> | undefined
  let region: Promise<string> | undefined
  let target: Promise<SsmTarget> | undefined
  const getRegion = () => {
    region ??= import('./ssm-target.ts')
      .then(({ resolveRegion }) => resolveRegion(settings))
      .catch((error: unknown) => {
        throw new AuthError('no AWS region is configured', {
          hint: 'pass --region, set AWS_REGION, or set region in your AWS profile',
          cause: error,
        })
      })
    return region
  }
  // resolved once per run, on the region resolved once: the fleet cache key, ssmCall and the plugin share it
  const getTarget = () => {
    target ??= Promise.all([getRegion(), import('./ssm-target.ts')]).then(([r, { resolveSsmTarget }]) =>
      resolveSsmTarget({ ...settings, region: r }),
    )
    return target
  }
  /** The SDK client's settings for `service`, with --profile's endpoint_url, which the SDK itself misses. */
  const configFor = async (service: string) => {
    let resolved = settings
    if (settings.profile && !settings.endpoint) {
      const { profileEndpoint } = await import('./ssm-target.ts')
      const endpoint = await profileEndpoint(settings.profile, service)
      if (endpoint) resolved = { ...settings, endpoint }
    }
    return { ...commonConfig(resolved), ...(await proxiedHandler(resolved, service)) }
  }
  const getSsm = () => {
    ssm ??= Promise.all([import('./sdk/ssm.ts'), configFor('ssm')]).then(
      ([{ SSMClient }, config]) => new SSMClient(config),
    )
    return ssm
  }
  return {
    settings,
    ssm: getSsm,
    eic: () => {
      eic ??= Promise.all([import('./sdk/eic.ts'), configFor('ec2_instance_connect')]).then(
        ([{ EC2InstanceConnectClient }, config]) => new EC2InstanceConnectClient(config),
      )
      return eic
    },
    ssmCall: async (operation, input) => {
      call ??= import('./ssm-rpc.ts').then(({ createSsmCall }) => createSsmCall(settings, {}, getTarget))
      return (await call)(operation, input)
    },
    ec2: () => {
      ec2 ??= Promise.all([
        import('./sdk/ec2-chunk.ts').then(({ loadEc2Sdk }) => loadEc2Sdk()),
        configFor('ec2'),
      ]).then(([{ EC2Client }, config]) => new EC2Client(config))
      return ec2
    },
    tagging: () => {
      tagging ??= Promise.all([
        import('./sdk/tagging-chunk.ts').then(({ loadTaggingSdk }) => loadTaggingSdk()),
        configFor('resource_groups_tagging_api'),
      ]).then(([{ ResourceGroupsTaggingAPIClient }, config]) => new ResourceGroupsTaggingAPIClient(config))
      return tagging
    },
    region: getRegion,
    endpoint: async () => (await getTarget()).configuredEndpoint,
    ssmUrl: async () => (await getTarget()).url.href.replace(/\/$/, ''),
    credentials: async () => {
      try {
        const c = await (await getTarget()).credentials()
        const source = Object.keys((c as { $source?: Record<string, string> }).$source ?? {})
        return {
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
          ...(source.length > 0 ? { source } : {}),
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
