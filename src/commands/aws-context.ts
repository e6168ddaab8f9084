// What every AWS-facing command builds from the Context: the clients and the fleet source.

import { type AwsClients, createAwsClients } from '../aws/clients.ts'
import type { FleetSource } from '../aws/fleet.ts'
import type { Context } from '../cli/command.ts'

export function clientsFor(ctx: Context): AwsClients {
  return createAwsClients(
    {
      ...(ctx.global.profile ? { profile: ctx.global.profile } : {}),
      ...(ctx.global.region ? { region: ctx.global.region } : {}),
      ...(ctx.global.endpoint ? { endpoint: ctx.global.endpoint } : {}),
    },
    ctx.env,
  )
}

export function fleetSourceFor(ctx: Context, clients: AwsClients): FleetSource {
  return {
    clients,
    cacheDir: ctx.paths.cacheDir,
    profile: ctx.global.profile ?? ctx.env.AWS_PROFILE ?? 'default',
    now: ctx.now,
    log: ctx.log,
  }
}

/** --profile/--region to hand on to the proxy ssh will start. */
export function globalProxyArgs(ctx: Context): string[] {
  return [
    ...(ctx.global.profile ? ['--profile', ctx.global.profile] : []),
    ...(ctx.global.region ? ['--region', ctx.global.region] : []),
    // names resolve through this endpoint: the session must go there too
    ...(ctx.global.endpoint ? ['--endpoint-url', ctx.global.endpoint] : []),
  ]
}
