// ssm-ssh demo: the main job on a local sandbox — a simulated Pi fleet, a throwaway key and ssh
// config, and the real ssh client going through `ssm-ssh proxy` to a simulated Pi.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Command } from '../cli/command.ts'
import { ChildExitError, UsageError } from '../support/errors.ts'

export interface DemoOptions {
  fleet: number
  host: string
  command?: string
  keep: boolean
}

export function parse(argv: string[]): DemoOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: { fleet: { type: 'string' }, host: { type: 'string' }, keep: { type: 'boolean' } },
  })
  const fleet = Number(values.fleet ?? '12')
  if (!Number.isInteger(fleet) || fleet < 1 || fleet > 100_000)
    throw new UsageError(`--fleet ${values.fleet} is not a number from 1 to 100000`, {
      hint: 'e.g. --fleet 50',
    })
  return {
    fleet,
    host: values.host ?? 'pi-kitchen',
    ...(positionals.length > 0 ? { command: positionals.join(' ') } : {}),
    keep: values.keep ?? false,
  }
}

export const demo: Command<DemoOptions> = {
  name: 'demo',
  summary: 'try ssm-ssh on a simulated Raspberry Pi fleet, offline',
  usage: 'ssm-ssh demo [--fleet N] [--host NAME] [command…]',
  examples: ['ssm-ssh demo', 'ssm-ssh demo --host web-1 uptime'],
  parse,
  async run(options, ctx) {
    const { startSandbox } = await import('../sandbox/sandbox.ts')
    const { ensureKeyPair } = await import('../ssh/keygen.ts')
    const { createAwsClients } = await import('../aws/clients.ts')
    const { listInstances } = await import('../aws/instances.ts')
    const { formatInstanceTable } = await import('../ui/instance-table.ts')
    const { execa } = await import('execa')
    const { proxyCommandFor } = await import('../ssh/run-ssh.ts')
    const { quoteConfigArg: quote } = await import('../domain/ssh-config/sanitize.ts')
    const dir = await mkdtemp(join(tmpdir(), 'ssm-ssh-demo-'))
    const key = await ensureKeyPair(join(dir, 'id_ed25519'), 'ssm-ssh-demo')
    const box = await startSandbox({
      fleet: options.fleet,
      stateDir: join(dir, 'sandbox'),
      authorizedKeyFile: key.publicKeyPath,
      log: ctx.log,
    })
    try {
      const err = (line: string) => ctx.io.stderr.write(`${line}\n`)
      err(`sandbox: ${box.endpoint} (a local emulator of the SSM API and the session data channel)`)
      const clients = createAwsClients({
        endpoint: box.endpoint,
        region: box.region,
        credentials: { accessKeyId: box.accessKeyId, secretAccessKey: box.secretAccessKey },
      })
      const instances = await listInstances(clients)
      err(`\nthe fleet (${instances.length} managed instances):`)
      ctx.io.stderr.write(formatInstanceTable(instances, ctx.now()))
      const config = join(dir, 'ssh_config')
      await writeFile(
        config,
        [
          'Host *',
          `  ProxyCommand ${proxyCommandFor(ctx.executable)}`,
          `  IdentityFile ${quote(key.privateKeyPath)}`,
          '  IdentitiesOnly yes',
          `  UserKnownHostsFile ${quote(join(dir, 'known_hosts'))}`,
          '  StrictHostKeyChecking accept-new',
          '  LogLevel ERROR',
          '',
        ].join('\n'),
        { mode: 0o600 },
      )
      const user = options.host.startsWith('web-') ? 'ec2-user' : 'pi'
      const env = { ...ctx.env, ...box.env }
      const interactive = ctx.io.isStdinTTY && ctx.io.isStdoutTTY && options.command === undefined
      const command = options.command ?? 'echo "hello from $USER on a simulated Pi: $(uname -sm), home $HOME"'
      err(`\n$ ssh -F ${config} ${user}@${options.host}${interactive ? '' : ` '${command}'`}`)
      if (interactive) err('(a shell on the simulated Pi; type exit to leave)')
      const args = ['-F', config, `${user}@${options.host}`, ...(interactive ? [] : [command])]
      const result = await execa('ssh', args, {
        env,
        stdio: interactive ? 'inherit' : ['ignore', 'pipe', 'inherit'],
        reject: false,
      })
      if (!interactive) ctx.io.stdout.write(`${result.stdout}\n`)
      if (result.exitCode !== 0)
        throw new ChildExitError(`ssh exited with ${result.exitCode}`, result.exitCode ?? 1)
      err(
        `\nthat went: ssh → ssm-ssh proxy → StartSession (AWS-StartSSHSession) → data channel → ${options.host}'s sshd`,
      )
      return 0
    } finally {
      await box.close()
      if (!options.keep) await rm(dir, { recursive: true, force: true })
    }
  },
}
