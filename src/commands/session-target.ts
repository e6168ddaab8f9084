// What proxy and forward share about the instance a session starts on: a name resolved without a
// listing when the cache knows it, and StartSession's TargetNotConnected explained (offline, or an
// agent too old for the document).
import type { AwsClients } from '../aws/clients.ts'
import type { Context } from '../cli/command.ts'
import { INSTANCE_ID } from '../domain/resolve.ts'
import { type CliError, TargetError } from '../support/errors.ts'
import { compareVersions } from '../support/version-compare.ts'
import { fleetSourceFor } from './aws-context.ts'

/** Minimum agent per session document (aws-api-notes.md §3). */
export const MIN_AGENT: Record<string, string> = {
  'AWS-StartSSHSession': '2.3.672.0',
  'AWS-StartPortForwardingSession': '2.3.672.0',
  'AWS-StartPortForwardingSessionToRemoteHost': '3.1.1374.0',
}

/** A name resolves from the cached inventory when it can (no listing on the hot path), else fresh. */
export async function resolveId(target: string, clients: AwsClients, ctx: Context): Promise<string> {
  if (INSTANCE_ID.test(target)) return target
  const { getFleet } = await import('../aws/fleet.ts')
  const { requireTarget, resolveTarget } = await import('../domain/resolve.ts')
  const source = fleetSourceFor(ctx, clients)
  const cached = await getFleet(source, Number.POSITIVE_INFINITY)
  if (cached.fromCache) {
    const hit = resolveTarget(target, cached.instances)
    if (hit.kind === 'found' && hit.instance.pingStatus === 'Online') return hit.instance.id
  }
  const fresh = cached.fromCache ? (await getFleet(source, 0)).instances : cached.instances
  return requireTarget(target, fresh, ctx.now()).id
}

/** StartSession said TargetNotConnected: say which of offline / agent too old / unknown it is. */
export async function explainNotConnected(
  error: CliError,
  id: string,
  documentName: string,
  clients: AwsClients,
): Promise<CliError> {
  const { describeInstance } = await import('../aws/instances.ts')
  const info = await describeInstance(clients, id).catch(() => undefined)
  const min = MIN_AGENT[documentName] ?? '0'
  if (info && info.pingStatus === 'Online' && compareVersions(info.agentVersion, min) < 0) {
    return new TargetError(
      `${id} runs SSM Agent ${info.agentVersion}; ${documentName} needs ${min} or newer`,
      {
        hint: 'update the agent on the instance (e.g. via AWS-UpdateSSMAgent)',
        cause: error,
      },
    )
  }
  if (info && info.pingStatus !== 'Online') {
    return new TargetError(
      `${id} is offline (${info.pingStatus}, last ping ${info.lastPing?.toISOString() ?? 'never'})`,
      { hint: 'power it on or check its network and SSM agent', cause: error },
    )
  }
  return error
}
