// Temporary keys on instances, shared by `push-key` and `proxy --push-key`: EC2 Instance Connect for
// i- instances whose sshd asks it, else Run Command with templates/push-key.sh (add, revoke, cleanup),
// host keys pinned. Every instance gets its own row; one failing never stops the others.
import { randomBytes } from 'node:crypto'
import type { AwsClients } from '../aws/clients.ts'
import type { InvocationResult } from '../aws/run-command.ts'
import type { Context } from '../cli/command.ts'
import { defaultUser, USER_TAG } from '../domain/default-user.ts'
import type { Instance } from '../domain/instance.ts'
import {
  fingerprint,
  type PublicKey,
  parseScriptOutput,
  renderScript,
  type ScriptAction,
  type ScriptReport,
  validUser,
} from '../domain/push-key.ts'
import { UsageError } from '../support/errors.ts'
import { readTemplate } from '../support/templates.ts'

export interface InstallOptions {
  key: PublicKey
  /** -l: the same user everywhere; else each instance's default (defaultUser) */
  user?: string
  ttlSeconds: number
  method: 'auto' | 'eic' | 'run-command'
  /** where ssm-ssh/known_hosts lives */
  sshDir: string
}

export interface InstallRow {
  id: string
  name: string
  /** the OS user the row is about; '' where it is about none (cleanup, an unresolved target) */
  user: string
  ok: boolean
  result: string
}

const scriptTemplate = () => readTemplate('push-key.sh')

const row = (i: Instance, user: string, ok: boolean, result: string): InstallRow => ({
  id: i.id,
  name: i.name,
  user,
  ok,
  result,
})

/** Why a Run Command invocation failed: the script's own FAILED line, else the agent's status. */
function failureOf(r: InvocationResult, report: ScriptReport): string | undefined {
  if (r.status === 'Success' && report.failed === undefined) return undefined
  return report.failed ?? `${r.status}: ${r.output.split('\n').filter(Boolean).slice(-1)[0] ?? ''}`
}

/** The script on each instance (grouped by user: the user is part of the script). */
async function runScript(
  clients: AwsClients,
  jobs: Array<{ instance: Instance; user: string }>,
  values: { action: ScriptAction; key?: PublicKey; marker?: string; ttlSeconds?: number },
  comment: string,
): Promise<Array<{ instance: Instance; user: string; result: InvocationResult; report: ScriptReport }>> {
  const { runShellScript } = await import('../aws/run-command.ts')
  const template = await scriptTemplate()
  const byUser = new Map<string, Array<{ instance: Instance; user: string }>>()
  for (const j of jobs) byUser.set(j.user, [...(byUser.get(j.user) ?? []), j])
  const runs = [...byUser].map(async ([user, group]) => {
    const script = renderScript(template, {
      marker: '',
      ttlSeconds: 0,
      ...values,
      user,
    })
    const results = await runShellScript(
      clients,
      group.map((j) => j.instance.id),
      script,
      { timeoutSeconds: 60, deadline: Date.now() + 120_000, comment },
    )
    return results.flatMap((result) => {
      const instance = group.find((j) => j.instance.id === result.instanceId)?.instance
      return instance ? [{ instance, user, result, report: parseScriptOutput(result.output) }] : []
    })
  })
  return (await Promise.all(runs)).flat()
}

/** Online instances with the user each key is for; the others as failed rows. */
function usersFor(
  instances: Instance[],
  user: string | undefined,
): { jobs: Array<{ instance: Instance; user: string }>; rows: InstallRow[] } {
  const jobs: Array<{ instance: Instance; user: string }> = []
  const rows: InstallRow[] = []
  for (const i of instances) {
    const u = user ?? defaultUser(i)
    if (i.pingStatus !== 'Online') rows.push(row(i, u ?? '', false, `offline (${i.pingStatus})`))
    else if (u === undefined)
      rows.push(
        row(i, '', false, `no default user for "${i.platform || 'an unknown platform'}": pass -l USER`),
      )
    else if (!validUser(u))
      rows.push(row(i, '', false, `tag ${USER_TAG}=${JSON.stringify(u)} is not a login name`))
    else jobs.push({ instance: i, user: u })
  }
  return { jobs, rows }
}

export async function installKey(
  ctx: Context,
  clients: AwsClients,
  instances: Instance[],
  options: InstallOptions,
): Promise<InstallRow[]> {
  const { jobs, rows } = usersFor(instances, options.user)
  if (options.method === 'eic' && jobs.some((j) => !j.instance.id.startsWith('i-'))) {
    throw new UsageError('EC2 Instance Connect only works for i- instances', {
      hint: 'drop --method eic (auto uses Run Command for mi-)',
    })
  }
  const { knownInstanceConnect, rememberInstanceConnect } = await import('../aws/instance-connect-cache.ts')
  const known = await knownInstanceConnect(ctx.paths.cacheDir, ctx.now())
  // auto: EC2 Instance Connect only where the instance said its sshd asks it; the first push to an
  // i- instance goes by Run Command, which works everywhere and finds that out on the way.
  const viaEic = jobs.filter(
    (j) =>
      j.instance.id.startsWith('i-') &&
      (options.method === 'eic' || (options.method === 'auto' && known.get(j.instance.id) === true)),
  )
  const viaRun = jobs.filter((j) => !viaEic.includes(j))
  const keyName = `key ${fingerprint(options.key)}`
  if (viaEic.length > 0) {
    const { sendSshPublicKey } = await import('../aws/instance-connect.ts')
    const sent = viaEic.map(async ({ instance, user }) => {
      try {
        await sendSshPublicKey(clients, instance.id, user, `${options.key.type} ${options.key.blob}`)
        return row(instance, user, true, `${keyName} valid 60 s (EC2 Instance Connect)`)
      } catch (error) {
        return row(instance, user, false, (error as Error).message)
      }
    })
    rows.push(...(await Promise.all(sent)))
  }
  if (viaRun.length === 0) return rows
  const { parseHostKeys, pinHostKeys } = await import('../ssh/known-hosts.ts')
  const marker = `ssm-ssh-temp-${randomBytes(6).toString('hex')}`
  const done = await runScript(
    clients,
    viaRun,
    { action: 'add', key: options.key, marker, ttlSeconds: options.ttlSeconds },
    'ssm-ssh push-key',
  )
  const found = new Map<string, boolean>()
  for (const { instance, user, result, report } of done) {
    if (instance.id.startsWith('i-') && report.instanceConnect !== undefined)
      found.set(instance.id, report.instanceConnect)
    const failure = failureOf(result, report)
    if (failure !== undefined) {
      rows.push(row(instance, user, false, failure))
      continue
    }
    // Pin the host keys it printed; a changed one is reported, never overwritten
    const pinned = await pinHostKeys(options.sshDir, instance.id, parseHostKeys(result.output))
    if (pinned.changed.length > 0) {
      ctx.log.warn(
        `WARNING: the ${pinned.changed.join(', ')} host key of ${instance.id} CHANGED since it was pinned: not trusted, not overwritten (a re-imaged or impersonated host?)`,
      )
      rows.push(row(instance, user, false, 'host key changed (see the warning)'))
      continue
    }
    const until = report.added ? `, until ${formatStamp(report.added.stamp, report.added.zone)}` : ''
    rows.push(row(instance, user, true, `${keyName} valid ${options.ttlSeconds} s${until} (Run Command)`))
  }
  await rememberInstanceConnect(ctx.paths.cacheDir, found, ctx.now())
  return rows
}

/** 20261201084000 in zone +10 → 2026-12-01 08:40:00 +10 (the instance's local time, as sshd reads it) */
function formatStamp(stamp: string, zone: string): string {
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(stamp)
  const text = m ? `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}` : stamp
  return zone ? `${text} ${zone}` : text
}

/** push-key --revoke: this key's ssm-ssh lines removed now, for each instance's user. */
export async function revokeKey(
  clients: AwsClients,
  instances: Instance[],
  options: { key: PublicKey; user?: string },
): Promise<InstallRow[]> {
  const { jobs, rows } = usersFor(instances, options.user)
  if (jobs.length === 0) return rows
  const done = await runScript(
    clients,
    jobs,
    { action: 'revoke', key: options.key },
    'ssm-ssh push-key --revoke',
  )
  const keyName = `key ${fingerprint(options.key)}`
  for (const { instance, user, result, report } of done) {
    const failure = failureOf(result, report)
    rows.push(
      failure === undefined
        ? row(instance, user, true, `${report.removed ?? 0} line(s) of ${keyName} removed`)
        : row(instance, user, false, failure),
    )
  }
  return rows
}

/** push-key --cleanup: expired ssm-ssh key lines removed from every home of every online instance. */
export async function cleanupKeys(clients: AwsClients, instances: Instance[]): Promise<InstallRow[]> {
  const rows = instances
    .filter((i) => i.pingStatus !== 'Online')
    .map((i) => row(i, '', false, `offline (${i.pingStatus})`))
  // every home of the host: the script's user is none
  const jobs = instances.filter((i) => i.pingStatus === 'Online').map((instance) => ({ instance, user: '' }))
  if (jobs.length === 0) return rows
  const done = await runScript(clients, jobs, { action: 'cleanup' }, 'ssm-ssh push-key --cleanup')
  for (const { instance, result, report } of done) {
    const failure = failureOf(result, report)
    const removed = `${report.removed ?? 0} expired ssm-ssh key line(s) removed`
    rows.push(
      failure === undefined
        ? row(instance, '', true, removed)
        : row(instance, '', false, `${failure}${report.removed ? ` (${removed} elsewhere)` : ''}`),
    )
  }
  return rows
}
