// ssm-ssh whoami: as whom, where and how ssm-ssh would call AWS right now — the caller
// (sts:GetCallerIdentity), where the credentials came from, the region and endpoints, the proxy. One
// screen for a person, or --json.
import { parseArgs } from 'node:util'
import type { Command, Context } from '../cli/command.ts'

export interface WhoamiOptions {
  json: boolean
}

/** The SDK's credential feature ids, as people say them. */
const SOURCES: Record<string, string> = {
  CREDENTIALS_ENV_VARS: 'environment variables',
  CREDENTIALS_PROFILE: 'shared credentials/config file',
  CREDENTIALS_PROFILE_SOURCE_PROFILE: 'assumed role (source_profile)',
  CREDENTIALS_PROFILE_NAMED_PROVIDER: 'assumed role (credential_source)',
  CREDENTIALS_PROFILE_SSO: 'IAM Identity Center (SSO)',
  CREDENTIALS_PROFILE_SSO_LEGACY: 'IAM Identity Center (legacy SSO)',
  CREDENTIALS_SSO: 'IAM Identity Center (SSO)',
  CREDENTIALS_SSO_LEGACY: 'IAM Identity Center (legacy SSO)',
  CREDENTIALS_PROFILE_PROCESS: 'credential_process',
  CREDENTIALS_PROCESS: 'credential_process',
  CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN: 'web identity token',
  CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN: 'web identity token',
  CREDENTIALS_HTTP: 'container credentials endpoint',
  CREDENTIALS_IMDS: 'instance metadata (IMDS)',
  CREDENTIALS_LOGIN: 'aws login',
  CREDENTIALS_PROFILE_LOGIN: 'aws login',
}

/** Where the credentials came from, as people say it. */
export function credentialSource(
  ctx: Context,
  credentials: { source?: string[] },
  environmentKeys: boolean,
): string {
  const profile = ctx.global.profile ?? (ctx.env.AWS_PROFILE || undefined)
  return !ctx.global.profile && environmentKeys
    ? 'environment variables (AWS_ACCESS_KEY_ID; they win over AWS_PROFILE, as with the AWS CLI)'
    : [...new Set((credentials.source ?? []).map((s) => SOURCES[s] ?? s))].join(', ') ||
        (profile ? `profile ${profile}` : 'the SDK default chain')
}

export function parse(argv: string[]): WhoamiOptions {
  const { values } = parseArgs({ args: argv, strict: true, options: { json: { type: 'boolean' } } })
  return { json: values.json ?? false }
}

export const whoami: Command<WhoamiOptions> = {
  name: 'whoami',
  summary: 'show the AWS caller, credential source, region, endpoint and proxy ssm-ssh uses',
  usage: 'ssm-ssh whoami [--json]',
  examples: ['ssm-ssh whoami', 'ssm-ssh --profile lab whoami --json'],
  parse,
  async run(options, ctx) {
    const { clientsFor } = await import('./aws-context.ts')
    const { environmentCredentials } = await import('../aws/clients.ts')
    const { callerIdentity, stsEndpoint } = await import('../aws/sts.ts')
    const { proxyFor } = await import('../support/proxy-agent.ts')
    const { safeLabel } = await import('../support/terminal-text.ts')
    const clients = clientsFor(ctx)
    const region = await clients.region()
    const ssm = await clients.ssmUrl()
    const credentials = await clients.credentials()
    const profile = ctx.global.profile ?? (ctx.env.AWS_PROFILE || undefined)
    const source = credentialSource(ctx, credentials, environmentCredentials(ctx.env) !== undefined)
    const identity = await callerIdentity(clients, ctx.env)
    const proxy = await proxyFor(ssm)
    const facts = {
      account: identity.account,
      arn: identity.arn,
      userId: identity.userId,
      credentials: source,
      accessKeyId: `${credentials.accessKeyId.slice(0, 4)}…${credentials.accessKeyId.slice(-4)}`,
      profile: profile ?? 'default',
      region,
      ssmEndpoint: ssm,
      stsEndpoint: await stsEndpoint(clients, region, ctx.env),
      proxy: proxy ?? null,
    }
    if (options.json) {
      ctx.io.stdout.write(`${JSON.stringify(facts)}\n`)
      return 0
    }
    const rows: Array<[string, string]> = [
      ['account', facts.account],
      ['caller', facts.arn],
      ['user id', facts.userId],
      ['credentials', `${facts.credentials}, key ${facts.accessKeyId}`],
      ['profile', facts.profile],
      ['region', facts.region],
      ['SSM endpoint', facts.ssmEndpoint],
      ['STS endpoint', facts.stsEndpoint],
      ['proxy', facts.proxy ?? 'none (direct)'],
    ]
    for (const [k, v] of rows) ctx.io.stdout.write(`${k.padEnd(13)}${safeLabel(v)}\n`)
    return 0
  },
}
