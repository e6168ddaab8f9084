// ssm-ssh policy: prints the least-privilege IAM policy for people who use ssm-ssh (JSON on stdout,
// stable order), to attach to a user, group or permission set. The rules are in
// domain/iam-policy.ts, the statements in templates/iam-policy.json.
import { parseArgs } from 'node:util'
import type { Command } from '../cli/command.ts'
import { UsageError } from '../support/errors.ts'

export interface PolicyCommandOptions {
  tags: string[]
  forward: boolean
  pushKey: boolean
  user?: string
  account: string
}

export function parse(argv: string[]): PolicyCommandOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      tag: { type: 'string', multiple: true },
      forward: { type: 'boolean' },
      'push-key': { type: 'boolean' },
      user: { type: 'string' },
      account: { type: 'string' },
      json: { type: 'boolean' },
    },
  })
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument "${positionals[0]}"`, {
      hint: 'ssm-ssh policy takes flags only',
    })
  if (values.user !== undefined && !values['push-key'])
    throw new UsageError('--user needs --push-key', {
      hint: '--user limits which OS user --push-key may push a key for',
    })
  return {
    tags: values.tag ?? [],
    forward: values.forward ?? false,
    pushKey: values['push-key'] ?? false,
    ...(values.user !== undefined ? { user: values.user } : {}),
    account: values.account ?? '*',
  }
}

export const policy: Command<PolicyCommandOptions> = {
  name: 'policy',
  summary: 'print a least-privilege IAM policy for ssm-ssh users',
  usage:
    'ssm-ssh policy [--tag KEY=VALUE]… [--forward] [--push-key [--user USER]] [--region REGION] [--account ID] [--json]',
  examples: [
    'ssm-ssh policy --tag site=home > ssm-ssh-policy.json',
    'ssm-ssh policy --tag site=home --tag site=lab --forward --region eu-west-1 --account 123456789012',
    'ssm-ssh policy --tag team=ops --push-key --user pi',
  ],
  parse,
  async run(options, ctx) {
    const { addTag, checkScope, renderPolicy } = await import('../domain/iam-policy.ts')
    const { readTemplate } = await import('../support/templates.ts')
    const tags = new Map<string, string[]>()
    for (const t of options.tags) addTag(tags, t)
    // the policy is for wherever it is attached: any Region unless --region says one
    const region = ctx.global.region ?? '*'
    checkScope(region, options.account, options.user)
    const text = renderPolicy(await readTemplate('iam-policy.json'), {
      tags,
      forward: options.forward,
      pushKey: options.pushKey,
      ...(options.user ? { user: options.user } : {}),
      region,
      account: options.account,
    })
    ctx.io.stdout.write(text)
    if (tags.size === 0)
      ctx.log.warn('policy: without --tag, sessions are allowed to every instance of the account')
    if (options.pushKey)
      ctx.log.warn(
        'policy: --push-key allows ssm:SendCommand with AWS-RunShellScript, which runs any command as root on the tagged instances; grant it only to people who may do that',
      )
    return 0
  },
}
