// ssm-ssh ssh <target> [ssh args…]: connect without any ssh config. The target resolves like
// everywhere else (the picker offers the candidates when a name is ambiguous and a person is there);
// the arguments after it go to ssh untouched.
import type { Command } from '../cli/command.ts'
import { UsageError } from '../support/errors.ts'

export interface SshOptions {
  target: string
  sshArgs: string[]
  /** push ssm-ssh's own key for the ssh user first, and offer only that key */
  pushKey: boolean
}

/** OpenSSH's options that take a value (ssh(1) SYNOPSIS): the next argument, or the rest of the word. */
const SSH_VALUE_OPTIONS = new Set('BbcDEeFIiJLlmOoPpQRSWw')

/**
 * ssh's own options written before the destination (`-l pi -p 22 host`): how many leading arguments
 * they take, so the destination is found after them, as ssh finds it.
 */
function leadingSshOptions(args: string[]): number {
  let i = 0
  while (i < args.length) {
    const arg = args[i] as string
    if (arg === '--' || !arg.startsWith('-') || arg === '-') return i
    i++
    for (let c = 1; c < arg.length; c++) {
      if (!SSH_VALUE_OPTIONS.has(arg[c] as string)) continue
      if (c === arg.length - 1) i++ // the value is the next argument
      break
    }
  }
  return Math.min(i, args.length)
}

export function parse(argv: string[]): SshOptions {
  const pushKey = argv[0] === '--push-key'
  const rest0 = pushKey ? argv.slice(1) : argv
  const args = rest0[0] === '--' ? rest0.slice(1) : rest0
  const lead = leadingSshOptions(args)
  const leading = args.slice(0, lead)
  const after = args[lead] === '--' ? args.slice(lead + 1) : args.slice(lead)
  const [target, ...rest] = after
  if (!target || target.startsWith('-'))
    throw new UsageError('ssm-ssh ssh needs a target', {
      hint: 'ssm-ssh ssh [ssh options] [user@]pi-kitchen [command]',
    })
  const at = target.lastIndexOf('@')
  const user = at > 0 ? target.slice(0, at) : undefined
  return {
    target: at > 0 ? target.slice(at + 1) : target,
    sshArgs: [...leading, ...(user ? ['-l', user] : []), ...rest.filter((a, i) => !(i === 0 && a === '--'))],
    pushKey,
  }
}

export const ssh: Command<SshOptions> = {
  name: 'ssh',
  summary: 'ssh to an instance by name or id, no ssh config needed',
  usage: 'ssm-ssh ssh [--push-key] [ssh options] [USER@]TARGET [ssh options and command]',
  examples: [
    'ssm-ssh ssh pi@pi-kitchen',
    'ssm-ssh ssh -l pi pi-garage uptime',
    'ssm-ssh ssh web-1 -L 8080:localhost:80 -N',
  ],
  parse,
  async run(options, ctx) {
    const { clientsFor, globalProxyArgs } = await import('./aws-context.ts')
    const { chooseTarget } = await import('./session-target.ts')
    const { runSsh } = await import('../ssh/run-ssh.ts')
    const { id } = await chooseTarget(options.target, clientsFor(ctx), ctx)
    if (!options.pushKey) return runSsh(ctx.executable, id, options.sshArgs, globalProxyArgs(ctx))
    // ssh reads the identity before the ProxyCommand runs: make sure ssm-ssh's key exists, offer only it
    const { join } = await import('node:path')
    const { ensureKeyPair } = await import('../ssh/keygen.ts')
    const pair = await ensureKeyPair(join(ctx.paths.stateDir, 'id_ed25519'), 'ssm-ssh')
    return runSsh(
      ctx.executable,
      id,
      ['-i', pair.privateKeyPath, '-o', 'IdentitiesOnly=yes', ...options.sshArgs],
      globalProxyArgs(ctx),
      ['--push-key', '--user', '%r'],
    )
  },
}
