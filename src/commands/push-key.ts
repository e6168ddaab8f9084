// ssm-ssh push-key: a temporary public key on instances — EC2 Instance Connect for i- (60 s), Run
// Command for mi- (and i- with --method run-command), removed again after --ttl. Waits until each
// instance has it and says which did not.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Command } from '../cli/command.ts'
import type { Instance } from '../domain/instance.ts'
import { parsePublicKey, parseTtl, validUser } from '../domain/push-key.ts'
import { CliError, UsageError } from '../support/errors.ts'

export interface PushKeyOptions {
  targets: string[]
  keyFile?: string
  user: string
  ttlSeconds: number
  method: 'auto' | 'eic' | 'run-command'
  sshDir?: string
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
  }
}

async function scriptTemplate(): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const dir of [resolve(here, '../templates'), resolve(here, '../../templates')]) {
    try {
      return await readFile(join(dir, 'push-key.sh'), 'utf8')
    } catch {
      // next candidate
    }
  }
  throw new CliError('the push-key script template is missing', {
    hint: 'reinstall ssm-ssh (templates/ ships with it)',
  })
}

export const pushKey: Command<PushKeyOptions> = {
  name: 'push-key',
  summary: 'put a temporary SSH key on instances (EC2 Instance Connect, or Run Command for mi-)',
  usage:
    'ssm-ssh push-key TARGET… [--key FILE.pub] [-l/--user NAME] [--ttl 10m] [--method auto|eic|run-command]',
  examples: ['ssm-ssh push-key pi-kitchen --user pi', 'ssm-ssh push-key tag:site=home --ttl 30m'],
  parse,
  async run(options, ctx) {
    // Read and check everything before anything is sent
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
    const key = parsePublicKey(keyText, keyPath)
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
            if (INSTANCE_ID.test(t))
              return [
                {
                  id: t,
                  name: t,
                  computerName: '',
                  ipAddress: '',
                  pingStatus: 'Online',
                  platform: '',
                  agentVersion: '',
                  resourceType: '',
                  tags: {},
                },
              ]
            return []
          })()
      if (hits.length === 0)
        throw new UsageError(`no managed instance matches "${t}"`, {
          hint: 'ssm-ssh ls lists them; names that match several need their ids',
        })
      for (const h of hits) chosen.set(h.id, h)
    }
    const offline = [...chosen.values()].filter((i) => i.pingStatus !== 'Online')
    const online = [...chosen.values()].filter((i) => i.pingStatus === 'Online')
    const viaEic = online.filter((i) => i.id.startsWith('i-') && options.method !== 'run-command')
    if (options.method === 'eic' && online.some((i) => i.id.startsWith('mi-'))) {
      throw new UsageError('EC2 Instance Connect only works for i- instances', {
        hint: 'drop --method eic (auto uses Run Command for mi-)',
      })
    }
    const viaRun = online.filter((i) => !viaEic.includes(i))
    const rows: Array<{ id: string; name: string; result: string; ok: boolean }> = offline.map((i) => ({
      id: i.id,
      name: i.name,
      result: `offline (${i.pingStatus})`,
      ok: false,
    }))
    const publicKey = `${key.type} ${key.blob}`
    const { sendSshPublicKey } = await import('../aws/instance-connect.ts')
    for (const i of viaEic) {
      try {
        await sendSshPublicKey(clients, i.id, options.user, publicKey)
        rows.push({ id: i.id, name: i.name, result: 'key valid for 60 s (EC2 Instance Connect)', ok: true })
      } catch (error) {
        rows.push({ id: i.id, name: i.name, result: (error as Error).message, ok: false })
      }
    }
    if (viaRun.length > 0) {
      const { keyLine, renderScript } = await import('../domain/push-key.ts')
      const { runShellScript } = await import('../aws/run-command.ts')
      const marker = `ssm-ssh-temp-${randomBytes(6).toString('hex')}`
      const line = keyLine(key, new Date(ctx.now().getTime() + options.ttlSeconds * 1000), marker)
      const script = renderScript(await scriptTemplate(), {
        user: options.user,
        keyline: line,
        marker,
        ttlSeconds: options.ttlSeconds,
      })
      const results = await runShellScript(
        clients,
        viaRun.map((i) => i.id),
        script,
        {
          timeoutSeconds: 60,
          deadline: Date.now() + 120_000,
          comment: `ssm-ssh push-key for ${options.user}`,
        },
      )
      const { parseHostKeys, pinHostKeys } = await import('../ssh/known-hosts.ts')
      for (const r of results) {
        const name = chosen.get(r.instanceId)?.name ?? ''
        if (r.status !== 'Success') {
          rows.push({
            id: r.instanceId,
            name,
            ok: false,
            result: `${r.status}: ${r.output.split('\n').filter(Boolean).slice(-1)[0] ?? ''}`,
          })
          continue
        }
        // Pin the host keys it printed; a changed one is reported, never overwritten
        const pinned = await pinHostKeys(
          options.sshDir ?? ctx.paths.sshDir,
          r.instanceId,
          parseHostKeys(r.output),
        )
        if (pinned.changed.length > 0) {
          ctx.log.warn(
            `WARNING: the ${pinned.changed.join(', ')} host key of ${r.instanceId} CHANGED since it was pinned: not trusted, not overwritten (a re-imaged or impersonated host?)`,
          )
          rows.push({ id: r.instanceId, name, ok: false, result: 'host key changed (see the warning)' })
          continue
        }
        rows.push({
          id: r.instanceId,
          name,
          ok: true,
          result: `key valid for ${options.ttlSeconds} s (Run Command)`,
        })
      }
    }
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
