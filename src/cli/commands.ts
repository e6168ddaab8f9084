// The command table: name → lazy import, so `proxy` (the hot path) never loads the picker, ssh-config
// or the sandbox, even inside the single-file bundle.
import type { AnyCommand } from './command.ts'

export interface CommandEntry {
  summary: string
  load(): Promise<AnyCommand>
}

export const commands: Record<string, CommandEntry> = {
  proxy: {
    summary: 'OpenSSH ProxyCommand: carry ssh over a Session Manager session',
    load: async () => (await import('../commands/proxy.ts')).proxy,
  },
  forward: {
    summary: 'forward local ports to an instance or to hosts it reaches',
    load: async () => (await import('../commands/forward.ts')).forward,
  },
  config: {
    summary: 'write ssh config stanzas for the fleet',
    load: async () => (await import('../commands/config.ts')).config,
  },
  ls: {
    summary: 'list the managed instances',
    load: async () => (await import('../commands/ls.ts')).ls,
  },
  pick: {
    summary: 'fuzzy-pick an instance and ssh to it',
    load: async () => (await import('../commands/pick.ts')).pick,
  },
  ssh: {
    summary: 'ssh to an instance by name or id, no ssh config needed',
    load: async () => (await import('../commands/ssh.ts')).ssh,
  },
  run: {
    summary: 'run one command on many instances (Run Command, or ssh with --via ssh)',
    load: async () => (await import('../commands/run.ts')).run,
  },
  'push-key': {
    summary: 'put a temporary SSH key on instances',
    load: async () => (await import('../commands/push-key.ts')).pushKey,
  },
  harden: {
    summary: "take sudo away from ssm-user (and the Pi owner's NOPASSWD)",
    load: async () => (await import('../commands/harden.ts')).harden,
  },
  policy: {
    summary: 'print a least-privilege IAM policy for ssm-ssh users',
    load: async () => (await import('../commands/policy.ts')).policy,
  },
  activation: {
    summary: 'keep a hybrid activation for enrolling Pis valid; list or delete activations',
    load: async () => (await import('../commands/activation.ts')).activation,
  },
  enroll: {
    summary: 'make a Pi a managed node (prints the enrolment script, or runs it with --ssh)',
    load: async () => (await import('../commands/enroll.ts')).enroll,
  },
  reactivate: {
    summary: 'give a cloned Pi an id of its own (re-register it, retire the id no machine uses)',
    load: async () => (await import('../commands/reactivate.ts')).reactivate,
  },
  whoami: {
    summary: 'show the AWS caller, credential source, region, endpoint and proxy in use',
    load: async () => (await import('../commands/whoami.ts')).whoami,
  },
  doctor: {
    summary: 'find why ssh through Session Manager fails: this machine, the service, the hosts',
    load: async () => (await import('../commands/doctor.ts')).doctor,
  },
  completion: {
    summary: 'print a bash or zsh completion script',
    load: async () => (await import('../commands/completion.ts')).completion,
  },
  '__complete-targets': {
    summary: '(for the shell completion)',
    load: async () => (await import('../commands/complete-targets.ts')).completeTargets,
  },
  sandbox: {
    summary: 'run the local Session Manager sandbox (an offline emulator of the SSM API and data channel)',
    load: async () => (await import('../commands/sandbox.ts')).sandbox,
  },
  demo: {
    summary: 'try ssm-ssh on a simulated Raspberry Pi fleet, offline',
    load: async () => (await import('../commands/demo.ts')).demo,
  },
}
