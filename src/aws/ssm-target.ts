// Where SSM requests go and as whom, decided by the SDK's own pieces without building SSMClient:
// its region loader, its configured-endpoint sources (--endpoint-url, AWS_ENDPOINT_URL(_SSM), the
// profile's endpoint_url), SSM's endpoint rules (FIPS, dual-stack, partitions) and its credential
// chain (SSO included). ssm-rpc signs with it; clients.region/endpoint/credentials answer from it, so
// the fleet cache key, the plugin fallback and the native path agree, and a proxy run resolves once.
import { commonParams } from '@aws-sdk/client-ssm/dist-es/endpoint/EndpointParameters.js'
import { defaultEndpointResolver } from '@aws-sdk/client-ssm/dist-es/endpoint/endpointResolver.js'
import { defaultProvider } from '@aws-sdk/credential-provider-node'
import {
  loadConfig,
  NODE_REGION_CONFIG_FILE_OPTIONS,
  NODE_REGION_CONFIG_OPTIONS,
  NODE_USE_DUALSTACK_ENDPOINT_CONFIG_OPTIONS,
  NODE_USE_FIPS_ENDPOINT_CONFIG_OPTIONS,
} from '@smithy/core/config'
import { getEndpointFromInstructions, resolveEndpointConfig } from '@smithy/core/endpoints'
import type { AwsSettings, Credentials } from './clients.ts'

export interface SsmTarget {
  region: string
  /** where requests go: the configured endpoint, else SSM's endpoint rules */
  url: URL
  /** the endpoint the user configured (flag, environment or profile), if any */
  configuredEndpoint: string | undefined
  /** SigV4 signing region (the rules' auth scheme may name one) */
  signingRegion: string
  /** the SDK's credential chain (memoized and refreshed by the SDK), or the static ones given */
  credentials: () => Promise<Credentials>
}

/** The region alone (the fleet cache key): no endpoint rules and no credentials needed for it. */
export async function resolveRegion(settings: AwsSettings): Promise<string> {
  if (settings.region) return settings.region
  const loader = settings.profile ? { profile: settings.profile } : {}
  return loadConfig(NODE_REGION_CONFIG_OPTIONS, { ...NODE_REGION_CONFIG_FILE_OPTIONS, ...loader })()
}

/**
 * The SDK's sources of a configured endpoint for one service: AWS_ENDPOINT_URL_<SERVICE>,
 * AWS_ENDPOINT_URL, the profile's services section (`<service> = endpoint_url = …`), the profile's
 * endpoint_url. `service` as the SDK spells its id for these: 'ssm', 'ec2', 'ec2_instance_connect'.
 */
function endpointUrlSelectors(service: string) {
  const env = `AWS_ENDPOINT_URL_${service.toUpperCase()}`
  return {
    environmentVariableSelector: (e: Record<string, string | undefined>) =>
      e[env] || e.AWS_ENDPOINT_URL || undefined,
    configFileSelector: (
      profile: Record<string, string | undefined>,
      config?: Record<string, Record<string, string | undefined>>,
    ) =>
      (profile.services
        ? config?.[`services.${profile.services}`]?.[`${service}.endpoint_url`]
        : undefined) ||
      profile.endpoint_url ||
      undefined,
    default: undefined,
  }
}
const IGNORE_CONFIGURED_ENDPOINTS = {
  environmentVariableSelector: (env: Record<string, string | undefined>) =>
    env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === undefined
      ? undefined
      : env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true',
  configFileSelector: (profile: Record<string, string | undefined>) =>
    profile.ignore_configured_endpoint_urls === undefined
      ? undefined
      : profile.ignore_configured_endpoint_urls === 'true',
  default: false,
}

/**
 * The configured endpoint of a named profile for a service: the SDK's own lookup reads only
 * AWS_PROFILE's, so `--profile P` lost P's endpoint_url (VPC-endpoint set-ups then went to the
 * public endpoint).
 */
export async function profileEndpoint(profile: string, service: string): Promise<string | undefined> {
  if (await loadConfig(IGNORE_CONFIGURED_ENDPOINTS as never, { profile })()) return undefined
  return loadConfig(endpointUrlSelectors(service) as never, { profile })() as Promise<string | undefined>
}

export async function resolveSsmTarget(settings: AwsSettings): Promise<SsmTarget> {
  const loader = settings.profile ? { profile: settings.profile } : {}
  const region = await resolveRegion(settings)
  if (settings.profile && !settings.endpoint) {
    const endpoint = await profileEndpoint(settings.profile, 'ssm')
    if (endpoint) settings = { ...settings, endpoint }
  }
  // The same resolution SSMClient's runtime config and endpoint middleware do (see their sources).
  const config = resolveEndpointConfig({
    serviceId: 'SSM',
    region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    useFipsEndpoint: loadConfig(NODE_USE_FIPS_ENDPOINT_CONFIG_OPTIONS, loader),
    useDualstackEndpoint: loadConfig(NODE_USE_DUALSTACK_ENDPOINT_CONFIG_OPTIONS, loader),
    endpointProvider: defaultEndpointResolver,
  } as unknown as Parameters<typeof resolveEndpointConfig>[0]) as ReturnType<typeof resolveEndpointConfig> & {
    serviceConfiguredEndpoint?: () => Promise<string | undefined>
  }
  const endpoint = await getEndpointFromInstructions(
    {},
    { getEndpointParameterInstructions: () => commonParams },
    config as Parameters<typeof getEndpointFromInstructions>[2],
  )
  const scheme = (endpoint.properties?.authSchemes as Array<{ signingRegion?: string }> | undefined)?.[0]
  const configuredEndpoint = settings.endpoint ?? (await config.serviceConfiguredEndpoint?.())
  const credentials: () => Promise<Credentials> = settings.credentials
    ? async () => settings.credentials as Credentials
    : defaultProvider(loader)
  return {
    region,
    url: endpoint.url,
    configuredEndpoint: configuredEndpoint || undefined,
    signingRegion: scheme?.signingRegion ?? region,
    credentials,
  }
}
