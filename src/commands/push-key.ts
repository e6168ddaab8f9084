// ssm-ssh push-key: a temporary public key on instances — EC2 Instance Connect for i- instances whose
// sshd asks it (60 s), else Run Command (templates/push-key.sh), removed again after --ttl; --revoke
// removes it now, --cleanup removes expired ones everywhere. Waits until each instance has it and
// prints one row per instance (and per target that matched none or several) saying which user and key.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Command, Context } from '../cli/command.ts'
import { type Instance, instanceById } from '../domain/instance.ts'
import { type PublicKey, parsePublicKey, parseTtl, validUser } from '../domain/push-key.ts'
import { CliError, TargetError, UsageError } from '../support/errors.ts'
import type { InstallRow } from './key-install.ts'

export interface PushKeyOptions {
  targets: string[]
  keyFile?: string
  /** -l: else each instance's default user (tag ssm-ssh:user, then its platform's) */
  user?: string
  ttlSeconds: number
  method: 'auto' | 'eic' | 'run-command'
  sshDir?: string
  mode: 'add' | 'revoke' | 'cleanup'
}

export function parse(argv: string[]): PushKeyOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      user: { type: 'string', short: 'l' },
      ttl: { type: 'string' },
      method: { type: 'string' },
      'ssh-dir': { type: 'string' },
      cleanup: { type: 'boolean' },
      revoke: { type: 'boolean' },
    },
  })
  if (positionals.length === 0)
    throw new UsageError('push-key needs at least one target', {
      hint: 'ssm-ssh push-key pi-kitchen -l pi',
    })
  if (values.user !== undefined && !validUser(values.user))
    throw new UsageError(`--user ${JSON.stringify(values.user)} is not a login name`, {
      hint: 'lower-case letters, digits, _ and -, e.g. --user pi',
    })
  const method = values.method ?? 'auto'
  if (method !== 'auto' && method !== 'eic' && method !== 'run-command')
    throw new UsageError(`--method ${method} is not auto, eic or run-command`, {
      hint: 'e.g. --method run-command',
    })
  if (values.cleanup && values.revoke)
    throw new UsageError('--cleanup and --revoke do not go together', {
      hint: '--revoke removes one key now, --cleanup every expired one',
    })
  if ((values.cleanup || values.revoke) && (values.ttl !== undefined || values.method !== undefined))
    throw new UsageError(`--${values.cleanup ? 'cleanup' : 'revoke'} takes no --ttl or --method`, {
      hint: 'both always use Run Command',
    })
  return {
    targets: positionals,
    ...(values.user !== undefined ? { user: values.user } : {}),
    ttlSeconds: parseTtl(values.ttl ?? '10m'),
    method,
    ...(values.key ? { keyFile: values.key } : {}),
    ...(values['ssh-dir'] ? { sshDir: values['ssh-dir'] } : {}),
    mode: values.cleanup ? 'cleanup' : values.revoke ? 'revoke' : 'add',
  }
}

async function readKey(options: PushKeyOptions, ctx: Context): Promise<PublicKey> {
  let keyPath = options.keyFile
  if (!keyPath) {
    const { ensureKeyPair } = await import('../ssh/keygen.ts')
    keyPath = (await ensureKeyPair(join(ctx.paths.stateDir, 'id_ed25519'), 'ssm-ssh')).publicKeyPath
  }
  let keyText: string
  try {
    keyText = await readFile(keyPath, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read ${keyPath}`, { hint: 'pass a .pub file with --key', cause: error })
  }
  return parsePublicKey(keyText, keyPath)
}

export const pushKey: Command<PushKeyOptions> = {
  name: 'push-key',
  summary: 'put a temporary SSH key on instances (EC2 Instance Connect where it works, else Run Command)',
  usage:
    'ssm-ssh push-key TARGET… [--key FILE.pub] [-l/--user NAME] [--ttl 10m] [--method auto|eic|run-command] [--revoke | --cleanup]',
  examples: [
    'ssm-ssh push-key pi-kitchen',
    'ssm-ssh push-key tag:site=home --ttl 30m',
    'ssm-ssh push-key web-1 --revoke',
    'ssm-ssh push-key tag:site=home --cleanup',
  ],
  parse,
  async run(options, ctx) {
    // Read and check everything before anything is sent
    const key = options.mode === 'cleanup' ? undefined : await readKey(options, ctx)
    const { clientsFor, fleetSourceFor } = await import('./aws-context.ts')
    const { getFleet } = await import('../aws/fleet.ts')
    const clients = clientsFor(ctx)
    const fleet = await getFleet(fleetSourceFor(ctx, clients))
    const { instances, unresolved } = await chooseTargets(options.targets, fleet.instances)
    const { cleanupKeys, installKey, revokeKey } = await import('./key-install.ts')
    const user = options.user === undefined ? {} : { user: options.user }
    const rows =
      instances.length === 0
        ? []
        : !key
          ? await cleanupKeys(clients, instances)
          : options.mode === 'revoke'
            ? await revokeKey(clients, instances, { key, ...user })
            : await installKey(ctx, clients, instances, {
                key,
                ...user,
                ttlSeconds: options.ttlSeconds,
                method: options.method,
                sshDir: options.sshDir ?? ctx.paths.sshDir,
              })
    for (const r of [...unresolved, ...rows])
      ctx.io.stdout.write(
        `${r.ok ? 'ok    ' : 'FAILED'}  ${r.id}  ${r.name}  ${r.user || '-'}  ${r.result}\n`,
      )
    const failed = rows.filter((r) => !r.ok).length
    const what = options.mode === 'add' ? 'did not get the key' : 'failed'
    if (failed > 0)
      throw new CliError(`${failed} of ${rows.length} instances ${what}`, {
        hint: 'see the lines marked FAILED above',
      })
    if (unresolved.length > 0)
      throw new TargetError(
        `${unresolved.length} of ${options.targets.length} targets matched no single instance`,
        {
          hint: 'ssm-ssh ls lists them; names that match several need their ids',
        },
      )
    return 0
  },
}

/** Each target's instances; a target that matches none, or several by one name, is a row of its own. */
async function chooseTargets(
  targets: string[],
  fleet: Instance[],
): Promise<{ instances: Instance[]; unresolved: InstallRow[] }> {
  const { INSTANCE_ID, resolveTarget } = await import('../domain/resolve.ts')
  const chosen = new Map<string, Instance>()
  const unresolved: InstallRow[] = []
  const fail = (t: string, result: string) =>
    unresolved.push({ id: '-', name: t, user: '', ok: false, result })
  for (const t of targets) {
    const tag = /^tag:([^=]+)=(.*)$/.exec(t)
    if (tag) {
      const hits = fleet.filter((i) => i.tags[tag[1] as string] === tag[2])
      if (hits.length === 0) fail(t, 'no managed instance has this tag')
      for (const h of hits) chosen.set(h.id, h)
      continue
    }
    const r = resolveTarget(t, fleet)
    if (r.kind === 'found') chosen.set(r.instance.id, r.instance)
    else if (r.kind === 'ambiguous')
      fail(t, `ambiguous: ${r.candidates.map((c) => c.id).join(', ')} (pass one id)`)
    else if (INSTANCE_ID.test(t)) chosen.set(t, instanceById(t))
    else fail(t, 'no managed instance matches')
  }
  return { instances: [...chosen.values()], unresolved }
}
