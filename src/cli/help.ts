import type { AnyCommand } from './command.ts'
import { commands } from './commands.ts'

export function formatHelp(cmd?: AnyCommand): string {
  if (cmd) {
    const lines = [`ssm-ssh ${cmd.name} — ${cmd.summary}`, '', `usage: ${cmd.usage}`]
    if (cmd.examples?.length) lines.push('', 'examples:', ...cmd.examples.map((e) => `  ${e}`))
    return `${lines.join('\n')}\n`
  }
  // names with a leading "__" are the shell completion's, not people's
  const shown = Object.entries(commands).filter(([name]) => !name.startsWith('__'))
  const width = Math.max(...shown.map(([n]) => n.length))
  const rows = shown.map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return [
    'ssm-ssh — ssh through AWS Systems Manager Session Manager',
    '',
    'usage: ssm-ssh <command> [flags]',
    '',
    'commands:',
    ...rows,
    '',
    'global flags: --profile NAME, --region NAME, --endpoint-url URL, -v/--verbose, --debug, -q/--quiet, --log-file FILE',
    'ssm-ssh help <command> shows its usage.',
    '',
  ].join('\n')
}
