// ssm-ssh enroll: make a Pi a managed node. Prints the enrolment script (templates/enroll.sh) or, with
// --ssh, runs it as root over plain ssh: install the agent if it is missing, clear a copied
// registration, register with the activation, start the agent. Then names the node (Name tag) and
// waits until it is Online, and prints its mi- id. A Pi already enrolled under an id of its own is
// left as it is.
import { parseArgs } from 'node:util'
import type { Command, Context } from '../cli/command.ts'
import { type EnrollReport, parseEnrollReport, renderEnrollScript } from '../domain/enroll-script.ts'
import type { PlainSshTarget } from '../ssh/run-plain.ts'
import { CliError, TargetError, UsageError } from '../support/errors.ts'
import { terminalSafe } from '../support/terminal-text.ts'
import {
  type ActivationFlags,
  activationFor,
  type EnsureActivation,
  enrollTemplate,
  NODE_FLAGS,
  nodeFlags,
  storedActivation,
} from './enrolment.ts'

export interface EnrollOptions extends ActivationFlags {
  ssh?: PlainSshTarget
  name?: string
  packageUrl?: string
  packageSha256?: string
  timeoutSeconds: number
  force: boolean
}

export function parse(argv: string[]): EnrollOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      ...NODE_FLAGS,
      'package-url': { type: 'string' },
      'package-sha256': { type: 'string' },
      force: { type: 'boolean' },
    },
  })
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument "${positionals[0]}"`, {
      hint: 'ssm-ssh enroll --ssh pi@raspberrypi.local',
    })
  return {
    ...nodeFlags(values),
    ...(values['package-url'] !== undefined ? { packageUrl: values['package-url'] } : {}),
    ...(values['package-sha256'] !== undefined ? { packageSha256: values['package-sha256'] } : {}),
    force: values.force ?? false,
  }
}

/** The script for these options (values checked: a bad one is a usage error). */
export async function enrollScript(
  options: EnrollOptions,
  ctx: Context,
  ensure: EnsureActivation,
  extra: { region: string; mode: 'enroll' | 'reactivate'; force: boolean; expectHost?: string },
): Promise<string> {
  const activation = await activationFor(options, ctx, ensure)
  try {
    return renderEnrollScript(await enrollTemplate(), {
      activation,
      region: extra.region,
      ...(options.packageUrl !== undefined ? { packageUrl: options.packageUrl } : {}),
      ...(options.packageSha256 !== undefined ? { packageSha256: options.packageSha256 } : {}),
      mode: extra.mode,
      force: extra.force,
      ...(extra.expectHost !== undefined ? { expectHost: extra.expectHost } : {}),
    })
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: 'check the activation and --package-url values' })
  }
}

/**
 * The service refused the activation the Pi registered with: full (RegistrationLimitExceeded),
 * expired or gone since it was judged valid — another enrolment may have used its last place.
 */
export class ActivationRefused extends CliError {}
const REFUSED_ACTIVATION = /RegistrationLimitExceeded|ActivationExpired|InvalidActivation\b/

/** The script over plain ssh, and what it reported; a failure is an error naming the host. */
export async function enrollOverSsh(
  target: PlainSshTarget,
  script: string,
  ctx: Context,
): Promise<EnrollReport> {
  const { runScriptOverSsh } = await import('../ssh/run-plain.ts')
  const where = terminalSafe(target.destination)
  const r = await runScriptOverSsh(target, script, { timeoutMs: 300_000, signal: ctx.signal, env: ctx.env })
  const report = parseEnrollReport(r.stdout)
  if (report.kind !== 'failed') return report
  if (r.exitCode === 255 && !r.stdout.includes('SSM_SSH_ENROLL'))
    throw new TargetError(
      `ssh to ${where} failed: ${terminalSafe(r.stderr.trim().split('\n').at(-1) ?? '')}`,
      {
        hint: 'check that plain ssh (with -p/-i/-o as given) logs in, and that the user may sudo without a password',
      },
    )
  const Failure = REFUSED_ACTIVATION.test(report.reason) ? ActivationRefused : CliError
  throw new Failure(`enrolling ${where} failed: ${terminalSafe(report.reason)}`, {
    hint: r.timedOut
      ? 'the script took more than 5 minutes'
      : 'the agent’s log on the Pi is in /var/log/amazon/ssm/',
  })
}

export async function runEnroll(
  options: EnrollOptions,
  ctx: Context,
  ensure: EnsureActivation,
): Promise<number> {
  const { clientsFor } = await import('./aws-context.ts')
  const clients = clientsFor(ctx)
  const region = await clients.region()
  const scriptFor = (force: boolean) => enrollScript(options, ctx, ensure, { region, mode: 'enroll', force })
  const ssh = options.ssh
  if (!ssh) {
    ctx.io.stdout.write(await scriptFor(options.force))
    return 0
  }
  // The stored activation was valid when judged, but enrolments running at once may fill it before
  // this Pi registers: then ask for a valid one again (the store makes one new activation, under its
  // lock, for all who ask) and register with that. Activation flags are used as given, once.
  const stored = options.activationId === undefined
  const enrolOnce = async (force: boolean): Promise<EnrollReport> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await enrollOverSsh(ssh, await scriptFor(force), ctx)
      } catch (error) {
        if (!(error instanceof ActivationRefused) || !stored || attempt >= 4) throw error
        ctx.log.verbose(`${error.message}: asking for a valid activation again`)
      }
    }
  }
  const { nameNode, nodeStatus, waitOnline } = await import('../aws/managed-nodes.ts')
  const started = Date.now()
  let report = await enrolOnce(options.force)
  if (report.kind === 'already') {
    // its own, or a copied card's: an id the service no longer knows, or that another machine reports
    const status = await nodeStatus(clients, report.id)
    // ComputerName may carry the domain (pi.lan) where `hostname` does not
    const short = (name: string) => name.split('.')[0]?.toLowerCase()
    const own =
      status !== undefined &&
      (status.computerName === '' || short(status.computerName) === short(report.host))
    if (!own) {
      ctx.log.warn(
        `${report.id} ${status ? `is ${terminalSafe(status.computerName)}'s id (a copied SD card?)` : 'is not registered any more'}: registering ${terminalSafe(report.host)} anew`,
      )
      report = await enrolOnce(true)
    }
  }
  if (report.kind !== 'registered' && report.kind !== 'already')
    throw new CliError(`enrolling ${terminalSafe(ssh.destination)} gave no instance id`, {
      hint: 'run the script by hand (ssm-ssh enroll without --ssh prints it)',
    })
  const name = options.name ?? report.host
  if (name !== '' && (await nameNode(clients, report.id, name)))
    ctx.log.verbose(`${report.id}: Name tag ${terminalSafe(name)}`)
  const online = await waitOnline(clients, report.id, options.timeoutSeconds * 1000, ctx.signal)
  if (online === undefined)
    throw new TargetError(`${report.id} is registered but not Online after ${options.timeoutSeconds} s`, {
      hint: `the agent on ${terminalSafe(report.host)} logs to /var/log/amazon/ssm/; --timeout waits longer`,
    })
  ctx.log.info(
    report.kind === 'already'
      ? `${terminalSafe(report.host)} is already enrolled as ${report.id} (${terminalSafe(name)}); nothing changed`
      : `enrolled ${terminalSafe(report.host)} as ${report.id} (${terminalSafe(name)}), Online after ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )
  ctx.io.stdout.write(`${report.id}\n`)
  return 0
}

export const enroll: Command<EnrollOptions> = {
  name: 'enroll',
  summary: 'make a Pi a managed node: print the enrolment script, or run it over plain ssh',
  usage:
    'ssm-ssh enroll [--ssh USER@HOST [-p PORT] [-i KEY] [-o OPTION…]] [--name NAME] [--activation-id ID --activation-code CODE | --role ROLE] [--package-url URL [--package-sha256 HEX]] [--timeout 60] [--force]',
  examples: [
    'ssm-ssh enroll --ssh pi@raspberrypi.local --name pi-kitchen',
    'ssm-ssh enroll --activation-id 0b2f… --activation-code Abc… > enroll.sh   # run it with sudo sh enroll.sh',
    "ssm-ssh enroll --ssh pi@10.0.0.7 --package-url 'https://s3.eu-west-1.amazonaws.com/amazon-ssm-eu-west-1/latest/debian_{arch}/amazon-ssm-agent.deb'",
  ],
  parse,
  run: (options, ctx) => runEnroll(options, ctx, storedActivation),
}
