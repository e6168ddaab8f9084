// ssm-ssh harden TARGET…: Session Manager access stops being root access. ssm-user's sudo rule (the
// agent's /etc/sudoers.d/ssm-agent-users) becomes a comment the agent leaves alone and, with
// --pi-nopasswd, the Pi owner's NOPASSWD becomes PASSWD; through Run Command (templates/harden.sh,
// which checks with visudo, writes atomically, keeps backups and follows no link). --dry-run shows
// the diff per host, --undo restores the backups. One row per host; exit 0, 1 (some failed) or 4
// (some not reached), as `run`.
import { parseArgs } from 'node:util'
import type { AwsClients } from '../aws/clients.ts'
import type { Command, Context } from '../cli/command.ts'
import { type Filter, parseFilter } from '../domain/filter.ts'
import type { HardenAction, HardenReport } from '../domain/harden.ts'
import type { Instance } from '../domain/instance.ts'
import { CliError, TargetError, UsageError } from '../support/errors.ts'
import { safeLabel, terminalSafe } from '../support/terminal-text.ts'

export interface HardenOptions {
  targets: string[]
  filters: Filter[]
  pick: boolean
  refresh: boolean
  action: HardenAction
  piNopasswd: boolean
  json: boolean
}

const usage = [
  'ssm-ssh harden TARGET… [--filter EXPR]… [--pick] [--pi-nopasswd] [--dry-run | --undo] [--json]',
  '  TARGET: an i-/mi- id, a Name, a ComputerName, an IP or tag:K=V (as run)',
  '  ssm-user loses sudo for good (/etc/sudoers.d/ssm-agent-users kept as a comment);',
  '  --pi-nopasswd: 010_pi-nopasswd asks the owner for their password (PASSWD: for NOPASSWD:)',
  '  --dry-run: the diff per host, nothing written; --undo: the files as they were, from the backup',
  '  exit: 0 all ok, 1 some failed, 4 some not reached',
].join('\n')

export function parse(argv: string[]): HardenOptions {
  let parsed: ReturnType<typeof parseHardenArgs>
  try {
    parsed = parseHardenArgs(argv)
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: 'ssm-ssh help harden', cause: error })
  }
  const { values, positionals } = parsed
  const filters = (values.filter ?? []).map(parseFilter)
  if (positionals.length === 0 && filters.length === 0 && !values.pick)
    throw new UsageError('harden needs targets: ids, names, tag:K=V, --filter or --pick', {
      hint: 'ssm-ssh harden pi-kitchen --pi-nopasswd --dry-run',
    })
  if (values['dry-run'] && values.undo)
    throw new UsageError('--dry-run and --undo do not go together', {
      hint: '--undo restores the backups; run it without --dry-run',
    })
  if (values.undo && values['pi-nopasswd'])
    throw new UsageError('--undo takes no --pi-nopasswd', {
      hint: '--undo restores every file harden changed',
    })
  return {
    targets: positionals,
    filters,
    pick: values.pick ?? false,
    refresh: values.refresh ?? false,
    action: values.undo ? 'undo' : values['dry-run'] ? 'dry-run' : 'apply',
    piNopasswd: values['pi-nopasswd'] ?? false,
    json: values.json ?? false,
  }
}

function parseHardenArgs(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      filter: { type: 'string', multiple: true },
      pick: { type: 'boolean' },
      refresh: { type: 'boolean' },
      'pi-nopasswd': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      undo: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  })
}

type RowStatus = 'changed' | 'unchanged' | 'failed' | 'unreached'

interface Row {
  instance: Instance
  status: RowStatus
  result: string
  report?: HardenReport
}

/** Each online instance's report; the offline ones and those the agent never took as rows. */
async function hardenOn(clients: AwsClients, instances: Instance[], options: HardenOptions): Promise<Row[]> {
  const { readTemplate } = await import('../support/templates.ts')
  const { describeHost, parseHardenOutput, renderHardenScript, verdictOf } = await import(
    '../domain/harden.ts'
  )
  const { runShellScript } = await import('../aws/run-command.ts')
  const rows: Row[] = instances
    .filter((i) => i.pingStatus !== 'Online')
    .map((instance) => ({ instance, status: 'unreached', result: `offline (${instance.pingStatus})` }))
  const online = instances.filter((i) => i.pingStatus === 'Online')
  if (online.length === 0) return rows
  const script = renderHardenScript(await readTemplate('harden.sh'), options)
  const results = await runShellScript(
    clients,
    online.map((i) => i.id),
    script,
    { timeoutSeconds: 60, deadline: Date.now() + 120_000, comment: `ssm-ssh harden (${options.action})` },
  )
  for (const r of results) {
    const instance = online.find((i) => i.id === r.instanceId)
    if (!instance) continue
    const report = parseHardenOutput(r.output)
    if (r.status === 'Undeliverable') {
      rows.push({
        instance,
        status: 'unreached',
        result: 'undeliverable: the agent did not take the command',
      })
    } else if (r.status !== 'Success' || report.failed !== undefined) {
      const last = r.output.split('\n').filter(Boolean).slice(-1)[0] ?? ''
      rows.push({ instance, status: 'failed', result: report.failed ?? `${r.status}: ${last}`, report })
    } else if (!report.done) {
      rows.push({
        instance,
        status: 'failed',
        result:
          'its report was cut short (Run Command keeps 2,500 characters of output): see the command in the console',
      })
    } else {
      const warnings = report.warnings.map((w) => `; WARNING: ${w}`).join('')
      rows.push({
        instance,
        status: verdictOf(report),
        result: `${describeHost(report, options.action)}${warnings}`,
        report,
      })
    }
  }
  return rows
}

async function printRows(rows: Row[], options: HardenOptions, ctx: Context): Promise<void> {
  const { hardenDiff } = await import('../domain/harden.ts')
  for (const row of rows) {
    const { id } = row.instance
    const name = safeLabel(row.instance.name || id)
    const diff = row.report && row.status !== 'failed' ? hardenDiff(row.report, options.action) : ''
    if (options.json) {
      const files = (row.report?.files ?? []).map((f) => ({
        path: `/etc/sudoers.d/${f.name}`,
        state: f.state,
      }))
      const json = {
        id,
        name: row.instance.name,
        status: row.status,
        action: options.action,
        result: row.result,
        files,
        ...(row.report?.ssmUser !== undefined ? { ssmUser: row.report.ssmUser } : {}),
        ...(diff ? { diff } : {}),
      }
      ctx.io.stdout.write(`${JSON.stringify(json)}\n`)
      continue
    }
    if (diff && options.action === 'dry-run') ctx.io.stdout.write(`# ${name} (${id})\n${terminalSafe(diff)}`)
    const word = row.status === 'failed' ? 'FAILED' : row.status
    ctx.io.stdout.write(`${word.padEnd(9)}  ${id}  ${name}  ${terminalSafe(row.result)}\n`)
  }
}

export const harden: Command<HardenOptions> = {
  name: 'harden',
  summary: "take sudo away from ssm-user (and, with --pi-nopasswd, the Pi owner's NOPASSWD)",
  usage,
  examples: [
    'ssm-ssh harden pi-kitchen --dry-run',
    'ssm-ssh harden tag:site=home --pi-nopasswd',
    'ssm-ssh harden pi-kitchen --undo',
  ],
  parse,
  async run(options, ctx) {
    const { clientsFor } = await import('./aws-context.ts')
    const { selectTargets } = await import('./run/select-targets.ts')
    const clients = clientsFor(ctx)
    const { instances } = await selectTargets(options, ctx, clients)
    const rows = await hardenOn(clients, instances, options)
    await printRows(rows, options, ctx)
    const failed = rows.filter((r) => r.status === 'failed').length
    const unreached = rows.filter((r) => r.status === 'unreached').length
    if (failed > 0)
      throw new CliError(`${failed} of ${rows.length} hosts failed`, {
        hint: 'see the lines marked FAILED above',
      })
    if (unreached > 0)
      throw new TargetError(`${unreached} of ${rows.length} hosts were not reached`, {
        hint: 'ssm-ssh ls --filter status=ConnectionLost shows the offline ones; run harden again later',
      })
    return 0
  },
}
