// ssm-ssh activation ensure|ls|rm: the hybrid activation Pis register with, kept valid in Parameter
// Store (aws/activation-store.ts). `ensure --json` prints the activation code, because `enroll` and
// scripts need it to register a Pi; nothing else ever prints or logs it (`ls` lists no codes).
import { parseArgs } from 'node:util'
import type { Command } from '../cli/command.ts'
import { DEFAULT_ACTIVATION_PARAMETER } from '../domain/activation.ts'
import { UsageError } from '../support/errors.ts'

export type ActivationOptions =
  | {
      action: 'ensure'
      role: string
      limit: number
      days: number
      tags: Record<string, string>
      namePrefix?: string
      parameterName: string
      json: boolean
      dryRun: boolean
    }
  | { action: 'ls'; parameterName: string; json: boolean }
  | { action: 'rm'; id: string; parameterName: string; dryRun: boolean }

const usage = [
  'ssm-ssh activation ensure --role ROLE [--limit 10] [--days 30] [--tag K=V]… [--name-prefix P]',
  `                          [--parameter ${DEFAULT_ACTIVATION_PARAMETER}] [--json]`,
  'ssm-ssh activation ls [--parameter NAME] [--json]',
  'ssm-ssh activation rm ACTIVATION_ID [--parameter NAME]',
  '  ensure reuses the stored activation while it can register a Pi, else creates one and stores it',
  '  (a SecureString); --json prints {activationId, activationCode, expirationDate, created, …}:',
  '  the code is a secret, printed only there.',
].join('\n')

const TAG = /^([\p{L}\p{Z}\p{N}_.:/+\-@]{1,128})=([\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256})$/u
const PARAMETER = /^(\/[a-zA-Z0-9_.-]+)+$|^[a-zA-Z0-9_.-]+$/

function parseFlags(args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        role: { type: 'string' },
        limit: { type: 'string' },
        days: { type: 'string' },
        tag: { type: 'string', multiple: true },
        'name-prefix': { type: 'string' },
        parameter: { type: 'string' },
        json: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
      },
    })
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: 'ssm-ssh help activation', cause: error })
  }
}

function integer(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new UsageError(`${flag} ${value} is not a whole number from ${min} to ${max}`, {
      hint: `e.g. ${flag} ${fallback}`,
    })
  return n
}

export function parse(argv: string[]): ActivationOptions {
  const { values, positionals } = parseFlags(argv)
  const [action, ...rest] = positionals
  const parameterName = values.parameter ?? DEFAULT_ACTIVATION_PARAMETER
  if (!PARAMETER.test(parameterName) || /^\/?(aws|ssm)/i.test(parameterName))
    throw new UsageError(`--parameter ${parameterName} is not a Parameter Store name ssm-ssh can use`, {
      hint: 'letters, digits, . - _ and / between levels, not starting with aws or ssm: e.g. /fleet/activation',
    })
  const json = values.json ?? false
  const dryRun = values['dry-run'] ?? false
  if (dryRun && action === 'ls')
    throw new UsageError('activation ls changes nothing: --dry-run has no use there')
  const ensureOnly = (['role', 'limit', 'days', 'tag', 'name-prefix'] as const).filter(
    (f) => values[f] !== undefined,
  )
  if (action !== 'ensure' && ensureOnly.length > 0)
    throw new UsageError(`--${ensureOnly[0]} is a setting of activation ensure`, {
      hint: usage.split('\n')[0],
    })
  if (action === 'ensure') {
    if (rest.length > 0) throw new UsageError(`activation ensure takes no arguments (got ${rest[0]})`)
    if (!values.role)
      throw new UsageError('activation ensure needs --role: the IAM service role registered Pis assume', {
        hint: 'e.g. ssm-ssh activation ensure --role SSMServiceRole',
      })
    if (!/^[\w+=,.@/-]{1,64}$/.test(values.role))
      throw new UsageError(`--role ${values.role} is not an IAM role name (64 characters at most)`, {
        hint: 'e.g. --role SSMServiceRole',
      })
    const tags: Record<string, string> = {}
    for (const t of values.tag ?? []) {
      const m = TAG.exec(t)
      if (!m) throw new UsageError(`--tag ${t} is not KEY=VALUE`, { hint: 'e.g. --tag site=home' })
      tags[m[1] as string] = m[2] as string
    }
    const prefix = values['name-prefix']
    if (prefix !== undefined && !/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$/u.test(prefix))
      throw new UsageError(`--name-prefix ${prefix} has characters AWS refuses in a name`, {
        hint: 'letters, digits, spaces and _ . : / = + - @',
      })
    return {
      action,
      role: values.role,
      limit: integer(values.limit, '--limit', 1, 1000, 10),
      days: integer(values.days, '--days', 1, 30, 30),
      tags,
      ...(prefix !== undefined ? { namePrefix: prefix } : {}),
      parameterName,
      json,
      dryRun,
    }
  }
  if (action === 'ls') {
    if (rest.length > 0) throw new UsageError(`activation ls takes no arguments (got ${rest[0]})`)
    return { action, parameterName, json }
  }
  if (action === 'rm') {
    const [id, ...more] = rest
    if (!id || more.length > 0)
      throw new UsageError('activation rm takes one activation id', {
        hint: 'ssm-ssh activation ls lists them',
      })
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id))
      throw new UsageError(`${id} is not an activation id`, { hint: 'ssm-ssh activation ls lists them' })
    return { action, id, parameterName, dryRun }
  }
  throw new UsageError(action ? `activation has no subcommand ${action}` : 'activation needs a subcommand', {
    hint: 'ssm-ssh activation ensure|ls|rm',
  })
}

export const activation: Command<ActivationOptions> = {
  name: 'activation',
  summary: 'keep a hybrid activation for enrolling Pis valid (ensure), list or delete activations',
  usage,
  examples: [
    'ssm-ssh activation ensure --role SSMServiceRole --limit 20 --tag site=home --name-prefix pi',
    'ssm-ssh activation ensure --role SSMServiceRole --json | jq -r .activationId',
    'ssm-ssh activation ls',
  ],
  parse,
  async run(options, ctx) {
    const { clientsFor } = await import('./aws-context.ts')
    const store = await import('../aws/activation-store.ts')
    const { safeLabel } = await import('../support/terminal-text.ts')
    const clients = clientsFor(ctx)
    if (options.action === 'ensure' && options.dryRun) {
      const { VERDICT_TEXT } = await import('../domain/activation.ts')
      const { storedId, verdict } = await store.inspectActivation(clients, {
        role: options.role,
        parameterName: options.parameterName,
        now: ctx.now(),
      })
      ctx.io.stdout.write(
        verdict.valid
          ? `would reuse activation ${storedId}\n`
          : `would create an activation (${VERDICT_TEXT[verdict.reason]}) and store it in ${options.parameterName}\n`,
      )
      return 0
    }
    if (options.action === 'ensure') {
      const result = await store.ensureActivation(clients, {
        role: options.role,
        limit: options.limit,
        days: options.days,
        tags: options.tags,
        ...(options.namePrefix !== undefined ? { namePrefix: options.namePrefix } : {}),
        parameterName: options.parameterName,
        now: ctx.now,
        onStep: (text) => ctx.log.verbose(text),
      })
      if (options.json) {
        ctx.io.stdout.write(
          `${JSON.stringify({
            activationId: result.activationId,
            activationCode: result.activationCode,
            expirationDate: result.expirationDate.toISOString(),
            created: result.created,
            ...(result.replaced ? { replaced: result.replaced } : {}),
            ...(result.reason ? { reason: result.reason } : {}),
          })}\n`,
        )
        return 0
      }
      const { VERDICT_TEXT } = await import('../domain/activation.ts')
      const why = result.reason
        ? ` (${VERDICT_TEXT[result.reason as keyof typeof VERDICT_TEXT] ?? result.reason})`
        : ''
      const what = result.created
        ? `created activation ${result.activationId}${result.replaced ? `, replacing ${result.replaced}` : ''}${why}`
        : `reusing activation ${result.activationId}`
      ctx.io.stdout.write(`${what}; expires ${result.expirationDate.toISOString()}\n`)
      return 0
    }
    if (options.action === 'ls') {
      const rows = await store.listActivations(clients, options.parameterName)
      if (options.json) {
        ctx.io.stdout.write(`${JSON.stringify(rows)}\n`)
        return 0
      }
      const { columnWidths, formatRow } = await import('../ui/instance-table.ts')
      const now = ctx.now()
      const table = [
        ['ID', 'NAME', 'ROLE', 'USED', 'EXPIRES', 'STATE'],
        ...rows.map((r) => [
          safeLabel(r.activationId),
          safeLabel(r.defaultInstanceName ?? ''),
          safeLabel(r.iamRole),
          `${r.registrationsCount}/${r.registrationLimit}`,
          r.expirationDate.toISOString(),
          [
            r.current ? 'stored' : '',
            r.expired || r.expirationDate <= now
              ? 'expired'
              : r.registrationsCount >= r.registrationLimit
                ? 'full'
                : 'usable',
          ]
            .filter(Boolean)
            .join(', '),
        ]),
      ]
      const widths = columnWidths(table)
      ctx.io.stdout.write(`${table.map((row) => formatRow(row, widths)).join('\n')}\n`)
      return 0
    }
    if (options.dryRun) {
      ctx.io.stdout.write(`would delete activation ${options.id}\n`)
      return 0
    }
    const { clearedStored } = await store.removeActivation(clients, options.id, options.parameterName)
    ctx.io.stdout.write(
      `deleted activation ${options.id}${clearedStored ? ` and the stored pointer ${options.parameterName}` : ''}\n`,
    )
    return 0
  },
}
