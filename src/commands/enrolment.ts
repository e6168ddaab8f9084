// What enroll and reactivate share: the script template, the activation they register with (the
// flags, else the stored one), the plain-ssh flags, and running the script over ssh.
import type { Context } from '../cli/command.ts'
import type { Activation } from '../domain/enroll-script.ts'
import type { PlainSshTarget } from '../ssh/run-plain.ts'
import { UsageError } from '../support/errors.ts'

export interface ActivationRequest {
  /** the IAM service role the Pis assume (CreateActivation IamRole) */
  role: string
}

/** The stored activation, renewed when it is expired, full or gone (src/aws/activation-store.ts). */
export type EnsureActivation = (ctx: Context, request: ActivationRequest) => Promise<Activation>

/**
 * The activation stored in Parameter Store, created or renewed when it is expired, full or gone —
 * what `ssm-ssh activation ensure --role ROLE` keeps (src/aws/activation-store.ts), with its lock so
 * that enrolments running at once create one activation between them.
 */
export const storedActivation: EnsureActivation = async (ctx, { role }) => {
  const { clientsFor } = await import('./aws-context.ts')
  const { ensureActivation } = await import('../aws/activation-store.ts')
  const a = await ensureActivation(clientsFor(ctx), { role, onStep: (text) => ctx.log.verbose(text) })
  return { id: a.activationId, code: a.activationCode }
}

export interface ActivationFlags {
  activationId?: string
  activationCode?: string
  role: string
}

export async function activationFor(
  flags: ActivationFlags,
  ctx: Context,
  ensure: EnsureActivation,
): Promise<Activation> {
  if (flags.activationId !== undefined && flags.activationCode !== undefined)
    return { id: flags.activationId, code: flags.activationCode }
  return ensure(ctx, { role: flags.role })
}

/** The flags enroll and reactivate share (parseArgs options). */
export const NODE_FLAGS = {
  ssh: { type: 'string' },
  port: { type: 'string', short: 'p' },
  identity: { type: 'string', short: 'i' },
  option: { type: 'string', short: 'o', multiple: true },
  name: { type: 'string' },
  'activation-id': { type: 'string' },
  'activation-code': { type: 'string' },
  role: { type: 'string' },
  timeout: { type: 'string' },
} as const

export interface NodeFlagValues {
  ssh?: string
  port?: string
  identity?: string
  option?: string[]
  name?: string
  'activation-id'?: string
  'activation-code'?: string
  role?: string
  timeout?: string
}

/** What the shared flags mean: the ssh target, the Name tag, the activation, the Online timeout. */
export function nodeFlags(values: NodeFlagValues): ActivationFlags & {
  ssh?: PlainSshTarget
  name?: string
  timeoutSeconds: number
} {
  checkActivationFlags(values['activation-id'], values['activation-code'])
  if (values.name !== undefined && !/^[\p{L}\p{N} _.:/=+@-]{1,128}$/u.test(values.name))
    throw new UsageError(`--name ${JSON.stringify(values.name)} is not a tag value`, {
      hint: 'e.g. --name pi-kitchen',
    })
  const ssh = sshTargetFrom(values)
  return {
    ...(ssh ? { ssh } : {}),
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(values['activation-id'] !== undefined ? { activationId: values['activation-id'] } : {}),
    ...(values['activation-code'] !== undefined ? { activationCode: values['activation-code'] } : {}),
    role: values.role ?? 'SSMServiceRole',
    timeoutSeconds: parseSeconds('--timeout', values.timeout, 60),
  }
}

/** --activation-id and --activation-code go together. */
export function checkActivationFlags(id: string | undefined, code: string | undefined): void {
  if ((id === undefined) !== (code === undefined))
    throw new UsageError('--activation-id and --activation-code go together', {
      hint: 'pass both, or neither to use the stored activation',
    })
}

/** --ssh user@host [-p PORT] [-i KEY] [-o OPTION…] as a plain ssh target. */
export function sshTargetFrom(values: {
  ssh?: string
  port?: string
  identity?: string
  option?: string[]
}): PlainSshTarget | undefined {
  if (values.ssh === undefined) {
    if (values.port !== undefined || values.identity !== undefined || (values.option ?? []).length > 0)
      throw new UsageError('-p, -i and -o go with --ssh', { hint: 'e.g. --ssh pi@192.168.1.20 -p 22' })
    return undefined
  }
  if (!/^([a-z_][a-z0-9_-]{0,31}@)?[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$/.test(values.ssh))
    throw new UsageError(`--ssh ${values.ssh} is not user@host`, { hint: 'e.g. --ssh pi@raspberrypi.local' })
  let port: number | undefined
  if (values.port !== undefined) {
    port = Number(values.port)
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new UsageError(`-p ${values.port} is not a port`, { hint: 'e.g. -p 22' })
  }
  const options = values.option ?? []
  const bad = options.find((o) => !/^[A-Za-z]+[= ]\S/.test(o) || /proxycommand|localcommand/i.test(o))
  if (bad !== undefined)
    throw new UsageError(`-o ${bad} is not an ssh option this takes`, {
      hint: 'e.g. -o StrictHostKeyChecking=accept-new (no ProxyCommand or LocalCommand)',
    })
  return {
    destination: values.ssh,
    ...(port !== undefined ? { port } : {}),
    ...(values.identity !== undefined ? { identityFile: values.identity } : {}),
    options,
  }
}

export async function enrollTemplate(): Promise<string> {
  const { readTemplate } = await import('../support/templates.ts')
  return readTemplate('enroll.sh')
}

export function parseSeconds(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 3600)
    throw new UsageError(`${flag} ${value} is not a whole number of seconds from 1 to 3600`, {
      hint: `e.g. ${flag} ${fallback}`,
    })
  return n
}
