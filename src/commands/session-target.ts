// What proxy and forward share about the instance a session starts on: a name resolved without a
// listing when the cache knows it, and StartSession's TargetNotConnected explained (offline, or an
// agent too old for the document).
import type { AwsClients } from '../aws/clients.ts'
import type { Context } from '../cli/command.ts'
import type { Instance } from '../domain/instance.ts'
import { INSTANCE_ID } from '../domain/resolve.ts'
import { type CliError, TargetError, UsageError } from '../support/errors.ts'
import { ago } from '../support/time.ts'
import { compareVersions } from '../support/version-compare.ts'
import type { PickerConfig } from '../ui/picker.ts'
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

/**
 * A target chosen by a person at a terminal: the whole fleet in the picker when `query` is empty
 * (`--pick`), the candidates when the name matches several instances, otherwise as everywhere else.
 * Never for proxy, whose stdin belongs to ssh.
 */
export async function chooseTarget(
  query: string,
  clients: AwsClients,
  ctx: Context,
  action?: PickerConfig['action'],
): Promise<{ id: string; name: string }> {
  if (query !== '' && INSTANCE_ID.test(query)) return { id: query, name: query }
  if (query === '' && !ctx.io.canPrompt)
    throw new UsageError('--pick needs a terminal', { hint: 'name the target instead, e.g. pi-kitchen' })
  const { getFleet } = await import('../aws/fleet.ts')
  const { requireTarget, resolveTarget } = await import('../domain/resolve.ts')
  const fleet = await getFleet(fleetSourceFor(ctx, clients))
  const pick = async (instances: Instance[]) => {
    const { pickInstance } = await import('../ui/picker.ts')
    const { colors } = await import('../ui/color.ts')
    const io = { input: ctx.io.stdin, output: ctx.io.stderr, signal: ctx.signal }
    const config = { instances, now: ctx.now(), colors: colors(ctx.io.color), pageSize: 10 }
    const picked = await pickInstance(action ? { ...config, action } : config, io)
    return { id: picked.id, name: picked.name || picked.id }
  }
  if (query === '') return pick(fleet.instances)
  const r = resolveTarget(query, fleet.instances)
  if (r.kind === 'ambiguous' && ctx.io.canPrompt) return pick(r.candidates)
  return { id: requireTarget(query, fleet.instances, ctx.now()).id, name: query }
}

/** StartSession said TargetNotConnected: say which of offline / agent too old / unknown it is. */
export async function explainNotConnected(
  error: CliError,
  id: string,
  documentName: string,
  clients: AwsClients,
  now: Date = new Date(),
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
      `${id} is offline (${info.pingStatus}, last ping ${ago(info.lastPing, now, 'never')})`,
      { hint: 'power it on or check its network and SSM agent', cause: error },
    )
  }
  return error
}
