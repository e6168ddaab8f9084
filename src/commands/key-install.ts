// Putting a temporary key on instances, shared by `push-key` and `proxy --push-key`: EC2 Instance
// Connect for i- (60 s), Run Command for mi- (the script of templates/push-key.sh), host keys pinned.
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AwsClients } from '../aws/clients.ts'
import type { Context } from '../cli/command.ts'
import type { Instance } from '../domain/instance.ts'
import type { PublicKey } from '../domain/push-key.ts'
import { CliError, UsageError } from '../support/errors.ts'

export interface InstallOptions {
  key: PublicKey
  user: string
  ttlSeconds: number
  method: 'auto' | 'eic' | 'run-command'
  /** where ssm-ssh/known_hosts lives */
  sshDir: string
}

export interface InstallRow {
  id: string
  name: string
  ok: boolean
  result: string
}

async function scriptTemplate(name = 'push-key.sh'): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const dir of [resolve(here, '../templates'), resolve(here, '../../templates')]) {
    try {
      return await readFile(join(dir, name), 'utf8')
    } catch {
      // next candidate
    }
  }
  throw new CliError('the push-key script template is missing', {
    hint: 'reinstall ssm-ssh (templates/ ships with it)',
  })
}

export async function installKey(
  ctx: Context,
  clients: AwsClients,
  instances: Instance[],
  options: InstallOptions,
): Promise<InstallRow[]> {
  const offline = instances.filter((i) => i.pingStatus !== 'Online')
  const online = instances.filter((i) => i.pingStatus === 'Online')
  if (options.method === 'eic' && online.some((i) => i.id.startsWith('mi-'))) {
    throw new UsageError('EC2 Instance Connect only works for i- instances', {
      hint: 'drop --method eic (auto uses Run Command for mi-)',
    })
  }
  const viaEic = online.filter((i) => i.id.startsWith('i-') && options.method !== 'run-command')
  const viaRun = online.filter((i) => !viaEic.includes(i))
  const rows: InstallRow[] = offline.map((i) => ({
    id: i.id,
    name: i.name,
    result: `offline (${i.pingStatus})`,
    ok: false,
  }))
  const { sendSshPublicKey } = await import('../aws/instance-connect.ts')
  for (const i of viaEic) {
    try {
      await sendSshPublicKey(clients, i.id, options.user, `${options.key.type} ${options.key.blob}`)
      rows.push({ id: i.id, name: i.name, result: 'key valid for 60 s (EC2 Instance Connect)', ok: true })
    } catch (error) {
      rows.push({ id: i.id, name: i.name, result: (error as Error).message, ok: false })
    }
  }
  if (viaRun.length === 0) return rows
  const { keyLine, renderScript } = await import('../domain/push-key.ts')
  const { runShellScript } = await import('../aws/run-command.ts')
  const { parseHostKeys, pinHostKeys } = await import('../ssh/known-hosts.ts')
  const marker = `ssm-ssh-temp-${randomBytes(6).toString('hex')}`
  const line = keyLine(options.key, new Date(ctx.now().getTime() + options.ttlSeconds * 1000), marker)
  // the same line without expiry-time, for hosts whose sshd is older than 7.7
  const plainline = `${options.key.type} ${options.key.blob} ${marker}`
  const script = renderScript(await scriptTemplate(), {
    plainline,
    user: options.user,
    keyline: line,
    marker,
    ttlSeconds: options.ttlSeconds,
  })
  const results = await runShellScript(
    clients,
    viaRun.map((i) => i.id),
    script,
    { timeoutSeconds: 60, deadline: Date.now() + 120_000, comment: `ssm-ssh push-key for ${options.user}` },
  )
  const names = new Map(instances.map((i) => [i.id, i.name]))
  for (const r of results) {
    const name = names.get(r.instanceId) ?? ''
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
    const pinned = await pinHostKeys(options.sshDir, r.instanceId, parseHostKeys(r.output))
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
  return rows
}

/** push-key --cleanup: expired ssm-ssh key lines removed on every online instance (Run Command). */
export async function cleanupKeys(clients: AwsClients, instances: Instance[]): Promise<InstallRow[]> {
  const online = instances.filter((i) => i.pingStatus === 'Online')
  const rows: InstallRow[] = instances
    .filter((i) => i.pingStatus !== 'Online')
    .map((i) => ({ id: i.id, name: i.name, ok: false, result: `offline (${i.pingStatus})` }))
  if (online.length === 0) return rows
  const { runShellScript } = await import('../aws/run-command.ts')
  const results = await runShellScript(
    clients,
    online.map((i) => i.id),
    await scriptTemplate('cleanup-keys.sh'),
    {
      timeoutSeconds: 60,
      deadline: Date.now() + 120_000,
      comment: 'ssm-ssh push-key --cleanup',
    },
  )
  const names = new Map(instances.map((i) => [i.id, i.name]))
  for (const r of results) {
    const removed = /^REMOVED (\d+)$/m.exec(r.output)?.[1]
    rows.push({
      id: r.instanceId,
      name: names.get(r.instanceId) ?? '',
      ok: r.status === 'Success',
      result:
        r.status === 'Success'
          ? `${removed ?? '0'} expired ssm-ssh key line(s) removed`
          : `${r.status}: ${r.output.split('\n').filter(Boolean).slice(-1)[0] ?? ''}`,
    })
  }
  return rows
}
