// ssm-ssh completion bash|zsh: a completion script for the shell, to source from its rc file.
// Commands complete from the command table; the targets of ssh, proxy, forward, push-key, run and harden
// from the cached fleet (`ssm-ssh __complete-targets`: the cache only, never an API call, so a Tab
// costs milliseconds). Names come from the cloud: only plain words are offered.
import type { Command } from '../cli/command.ts'
import { commands } from '../cli/commands.ts'
import { UsageError } from '../support/errors.ts'

export interface CompletionOptions {
  shell: 'bash' | 'zsh'
}

const TARGETED = ['ssh', 'proxy', 'forward', 'push-key', 'run', 'harden']

/** The names shown to the shell: the command table's, without the hidden ones (leading "__"). */
const commandNames = () => Object.keys(commands).filter((c) => !c.startsWith('__'))

export function script(shell: 'bash' | 'zsh'): string {
  const names = [...commandNames(), 'help', 'version'].join(' ')
  const targeted = TARGETED.join('|')
  if (shell === 'bash')
    return `# ssm-ssh completion for bash: source <(ssm-ssh completion bash)
_ssm_ssh() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names}" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
    ${targeted})
      case "$cur" in -*) return ;; esac
      local IFS=$'\\n'
      COMPREPLY=($(ssm-ssh __complete-targets "$cur" 2>/dev/null))
      ;;
    help) COMPREPLY=($(compgen -W "${names}" -- "$cur")) ;;
  esac
}
complete -o default -F _ssm_ssh ssm-ssh
`
  return `#compdef ssm-ssh
# ssm-ssh completion for zsh: source <(ssm-ssh completion zsh)  (after compinit)
_ssm_ssh() {
  if (( CURRENT == 2 )); then
    compadd -- ${names}
    return
  fi
  case "\${words[2]}" in
    ${targeted})
      [[ "\${words[CURRENT]}" == -* ]] && return
      compadd -- \${(f)"$(ssm-ssh __complete-targets "\${words[CURRENT]}" 2>/dev/null)"}
      ;;
    help) compadd -- ${names} ;;
  esac
}
compdef _ssm_ssh ssm-ssh
`
}

export function parse(argv: string[]): CompletionOptions {
  const [shell, extra] = argv
  if ((shell !== 'bash' && shell !== 'zsh') || extra !== undefined)
    throw new UsageError('completion needs a shell: bash or zsh', {
      hint: 'source <(ssm-ssh completion bash), or in ~/.zshrc: source <(ssm-ssh completion zsh)',
    })
  return { shell }
}

export const completion: Command<CompletionOptions> = {
  name: 'completion',
  summary: 'print a bash or zsh completion script (commands, and instance names from the cache)',
  usage: 'ssm-ssh completion bash|zsh',
  examples: [
    'source <(ssm-ssh completion bash)        (in ~/.bashrc)',
    'source <(ssm-ssh completion zsh)         (in ~/.zshrc, after compinit)',
  ],
  parse,
  async run(options, ctx) {
    ctx.io.stdout.write(script(options.shell))
    return 0
  },
}
