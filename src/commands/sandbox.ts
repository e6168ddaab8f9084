// ssm-ssh sandbox: the local Session Manager emulator in the foreground, for tests, the demo and
// anyone who wants to point the AWS SDK or CLI at a fleet that does not exist.
import { parseArgs } from 'node:util'
import type { Command } from '../cli/command.ts'
import { type Faults, parseFaults } from '../sandbox/faults.ts'
import { UsageError } from '../support/errors.ts'

export interface SandboxCommandOptions {
  port: number
  fleet: number
  seed: number
  latencyMs: number
  faults: Faults
  pace: boolean
  stateDir?: string
  authorizedKeyFile?: string
  sshTarget?: { host: string; port: number }
  real: number
  unenrolled: number
  roleTokenTtlSeconds?: number
  agentBinDir?: string
  /** the caller's IAM policy (a JSON file) */
  iamPolicyFile?: string
  /** the account's hybrid tier (Session Manager needs advanced for mi- nodes) */
  activationTier: 'standard' | 'advanced'
  /** copies of a real instance's SD card: another machine under its id (seed 002) */
  clones: Array<{ of: string; name: string }>
}

function parseInteger(
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} ${value} is not a whole number from ${min} to ${max}`, {
      hint: `e.g. ${flag} ${fallback}`,
    })
  }
  return n
}

export function parse(argv: string[]): SandboxCommandOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      fleet: { type: 'string' },
      seed: { type: 'string' },
      'latency-ms': { type: 'string' },
      faults: { type: 'string' },
      pace: { type: 'string' },
      state: { type: 'string' },
      'authorized-key': { type: 'string' },
      'ssh-target': { type: 'string' },
      real: { type: 'string' },
      unenrolled: { type: 'string' },
      'role-token-ttl': { type: 'string' },
      'agent-bin': { type: 'string' },
      'iam-policy': { type: 'string' },
      'activation-tier': { type: 'string' },
      clone: { type: 'string', multiple: true },
    },
  })
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument "${positionals[0]}"`, {
      hint: 'ssm-ssh sandbox takes flags only',
    })
  const pace = values.pace ?? 'agent'
  if (pace !== 'agent' && pace !== 'off')
    throw new UsageError(`--pace ${pace} is not agent or off`, {
      hint: 'use --pace agent (default) or --pace off',
    })
  let sshTarget: SandboxCommandOptions['sshTarget']
  if (values['ssh-target'] !== undefined) {
    const m = /^([^:\s]+):(\d{1,5})$/.exec(values['ssh-target'])
    if (!m)
      throw new UsageError(`--ssh-target ${values['ssh-target']} is not HOST:PORT`, {
        hint: 'e.g. --ssh-target 127.0.0.1:2222',
      })
    sshTarget = { host: m[1] as string, port: Number(m[2]) }
  }
  const activationTier = values['activation-tier'] ?? 'advanced'
  if (activationTier !== 'standard' && activationTier !== 'advanced')
    throw new UsageError(`--activation-tier ${activationTier} is not standard or advanced`, {
      hint: 'use --activation-tier standard to see what Session Manager does without the advanced tier',
    })
  const clones = (values.clone ?? []).map((text) => {
    const m = /^([a-z0-9][a-z0-9-]{0,62})=([a-z0-9][a-z0-9-]{0,62})$/i.exec(text)
    if (!m)
      throw new UsageError(`--clone ${text} is not NAME=COPY`, {
        hint: 'e.g. --real 1 --clone pi-kitchen=pi-kitchen-copy (a second machine under pi-kitchen’s id)',
      })
    return { of: m[1] as string, name: m[2] as string }
  })
  if (clones.length > 0 && values.real === undefined)
    throw new UsageError('--clone needs --real N', {
      hint: 'a clone copies a real instance: e.g. --real 1 --clone pi-kitchen=pi-kitchen-copy',
    })
  return {
    port: parseInteger('--port', values.port, 0, 0, 65535),
    fleet: parseInteger('--fleet', values.fleet, 12, 1, 100_000),
    seed: parseInteger('--seed', values.seed, 1, 0, 2 ** 31),
    latencyMs: parseInteger('--latency-ms', values['latency-ms'], 0, 0, 60_000),
    faults: parseFaults(values.faults),
    pace: pace === 'agent',
    ...(values.state !== undefined ? { stateDir: values.state } : {}),
    ...(values['authorized-key'] !== undefined ? { authorizedKeyFile: values['authorized-key'] } : {}),
    ...(sshTarget ? { sshTarget } : {}),
    real: parseInteger('--real', values.real, 0, 0, 20),
    unenrolled: parseInteger('--unenrolled', values.unenrolled, 0, 0, 20),
    ...(values['role-token-ttl'] !== undefined
      ? { roleTokenTtlSeconds: parseInteger('--role-token-ttl', values['role-token-ttl'], 3600, 10, 43_200) }
      : {}),
    ...(values['agent-bin'] !== undefined ? { agentBinDir: values['agent-bin'] } : {}),
    ...(values['iam-policy'] !== undefined ? { iamPolicyFile: values['iam-policy'] } : {}),
    activationTier,
    clones,
  }
}

export const sandbox: Command<SandboxCommandOptions> = {
  name: 'sandbox',
  summary: 'run the local Session Manager sandbox in the foreground',
  usage:
    'ssm-ssh sandbox [--port N] [--fleet N] [--seed N] [--latency-ms N] [--faults SPEC] [--pace agent|off] [--state DIR] [--authorized-key FILE.pub] [--ssh-target HOST:PORT] [--real N] [--unenrolled N] [--role-token-ttl SECONDS] [--agent-bin DIR] [--iam-policy FILE] [--activation-tier standard|advanced] [--clone NAME=COPY]…',
  examples: [
    'ssm-ssh sandbox --fleet 200 --authorized-key ~/.ssh/id_ed25519.pub',
    'ssm-ssh sandbox --faults drop=0.02,dup=0.02,reorder=0.05,disconnect=5s --seed 7',
    "sudo ssm-ssh sandbox --real 3   # three instances run AWS's own amazon-ssm-agent and sshd",
    'ssm-ssh policy --tag site=home > p.json && ssm-ssh sandbox --iam-policy p.json',
    'sudo ssm-ssh sandbox --unenrolled 2   # two Pis fresh out of the box, for ssm-ssh enroll --ssh',
    'sudo ssm-ssh sandbox --real 1 --clone pi-kitchen=pi-kitchen-copy   # a cloned SD card: two machines, one mi- id',
  ],
  parse,
  async run(options, ctx) {
    const { startSandbox } = await import('../sandbox/sandbox.ts')
    const iamPolicy = options.iamPolicyFile ? await readPolicyFile(options.iamPolicyFile) : undefined
    const box = await startSandbox({
      port: options.port,
      fleet: options.fleet,
      seed: options.seed,
      latencyMs: options.latencyMs,
      faults: options.faults,
      pace: options.pace,
      ...(options.stateDir ? { stateDir: options.stateDir } : {}),
      ...(options.authorizedKeyFile ? { authorizedKeyFile: options.authorizedKeyFile } : {}),
      ...(options.sshTarget ? { sshTarget: options.sshTarget } : {}),
      real: options.real,
      unenrolled: options.unenrolled,
      ...(options.roleTokenTtlSeconds ? { roleTokenTtlSeconds: options.roleTokenTtlSeconds } : {}),
      ...(options.agentBinDir ? { agentBinDir: options.agentBinDir } : {}),
      ...(iamPolicy !== undefined ? { iamPolicy } : {}),
      activationTier: options.activationTier,
      ...(options.clones.length > 0 ? { clones: options.clones } : {}),
      region: ctx.global.region ?? 'eu-west-1',
      log: ctx.log,
    })
    // unenrolled Pis: where plain ssh reaches each (ssh -p PORT pi@127.0.0.1)
    const unenrolled = [...box.unenrolled.values()].map((p) => ({
      name: p.name,
      user: p.user,
      host: p.host,
      port: p.port,
    }))
    ctx.io.stdout.write(
      `${JSON.stringify({ endpoint: box.endpoint, region: box.region, accessKeyId: box.accessKeyId, secretAccessKey: box.secretAccessKey, ...(unenrolled.length > 0 ? { unenrolled } : {}) })}\n`,
    )
    for (const p of unenrolled)
      ctx.log.info(
        `unenrolled ${p.name}: ssh -p ${p.port} ${p.user}@${p.host} (not managed yet: ssm-ssh enroll)`,
      )
    ctx.log.info(`sandbox ready: ${box.state.instances.size} instances at ${box.endpoint} (Ctrl-C stops it)`)
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve()
      ctx.signal.addEventListener('abort', () => resolve(), { once: true })
    })
    // Real instances go with their namespaces; whatever did not (a process, a mount) is named, one a line
    for (const line of await box.close()) ctx.log.warn(`sandbox: could not clean ${line}`)
    return 0
  },
}

async function readPolicyFile(file: string): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read --iam-policy ${file}`, {
      hint: 'pass a JSON policy file, e.g. one written by ssm-ssh policy',
      cause: error,
    })
  }
}
