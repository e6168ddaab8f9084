// ssm-ssh push-key: a temporary public key on instances — EC2 Instance Connect for i- (60 s), Run
// Command for mi- (and i- with --method run-command), removed again after --ttl. Waits until each
// instance has it and says which did not.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Command, Context } from '../cli/command.ts'
import { type Instance, instanceById } from '../domain/instance.ts'
import { type PublicKey, parsePublicKey, parseTtl, validUser } from '../domain/push-key.ts'
import { CliError, UsageError } from '../support/errors.ts'

export interface PushKeyOptions {
  targets: string[]
  keyFile?: string
  user: string
  ttlSeconds: number
  method: 'auto' | 'eic' | 'run-command'
  sshDir?: string
  cleanup: boolean
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
    },
  })
  if (positionals.length === 0)
    throw new UsageError('push-key needs at least one target', {
      hint: 'ssm-ssh push-key pi-kitchen --user pi',
    })
  const user = values.user ?? 'pi'
  if (!validUser(user))
    throw new UsageError(`--user ${JSON.stringify(user)} is not a login name`, {
      hint: 'lower-case letters, digits, _ and -, e.g. --user pi',
    })
  const method = values.method ?? 'auto'
  if (method !== 'auto' && method !== 'eic' && method !== 'run-command')
    throw new UsageError(`--method ${method} is not auto, eic or run-command`, {
      hint: 'e.g. --method run-command',
    })
  return {
    targets: positionals,
    user,
    ttlSeconds: parseTtl(values.ttl ?? '10m'),
    method,
    ...(values.key ? { keyFile: values.key } : {}),
    ...(values['ssh-dir'] ? { sshDir: values['ssh-dir'] } : {}),
    cleanup: values.cleanup ?? false,
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
  summary: 'put a temporary SSH key on instances (EC2 Instance Connect, or Run Command for mi-)',
  usage:
    'ssm-ssh push-key TARGET… [--cleanup] [--key FILE.pub] [-l/--user NAME] [--ttl 10m] [--method auto|eic|run-command]',
  examples: ['ssm-ssh push-key pi-kitchen --user pi', 'ssm-ssh push-key tag:site=home --ttl 30m'],
  parse,
  async run(options, ctx) {
    // Read and check everything before anything is sent
    const key = options.cleanup ? undefined : await readKey(options, ctx)
    const { clientsFor, fleetSourceFor } = await import('./aws-context.ts')
    const { getFleet } = await import('../aws/fleet.ts')
    const { INSTANCE_ID, resolveTarget } = await import('../domain/resolve.ts')
    const clients = clientsFor(ctx)
    const fleet = await getFleet(fleetSourceFor(ctx, clients))
    const chosen = new Map<string, Instance>()
    for (const t of options.targets) {
      const hits = t.startsWith('tag:')
        ? (() => {
            const m = /^tag:([^=]+)=(.*)$/.exec(t)
            return m ? fleet.instances.filter((i) => i.tags[m[1] as string] === m[2]) : []
          })()
        : (() => {
            const r = resolveTarget(t, fleet.instances)
            if (r.kind === 'found') return [r.instance]
            if (INSTANCE_ID.test(t)) return [instanceById(t)]
            return []
          })()
      if (hits.length === 0)
        throw new UsageError(`no managed instance matches "${t}"`, {
          hint: 'ssm-ssh ls lists them; names that match several need their ids',
        })
      for (const h of hits) chosen.set(h.id, h)
    }
    const { cleanupKeys, installKey } = await import('./key-install.ts')
    const rows = !key
      ? await cleanupKeys(clients, [...chosen.values()])
      : await installKey(ctx, clients, [...chosen.values()], {
          key,
          user: options.user,
          ttlSeconds: options.ttlSeconds,
          method: options.method,
          sshDir: options.sshDir ?? ctx.paths.sshDir,
        })
    for (const r of rows)
      ctx.io.stdout.write(`${r.ok ? 'ok    ' : 'FAILED'}  ${r.id}  ${r.name}  ${r.result}\n`)
    const failed = rows.filter((r) => !r.ok).length
    if (failed > 0)
      throw new CliError(`${failed} of ${rows.length} instances did not get the key`, {
        hint: 'see the lines marked FAILED above',
      })
    return 0
  },
}
