// Values from the cloud (Name tags, ComputerName) are untrusted: nothing in them may reach the ssh
// config as anything but a plain alias. Aliases are [A-Za-z0-9._-]; users are login names; the
// ProxyCommand's paths are quoted and their % doubled.

const MAX_ALIAS = 64

/** A Name tag → an ssh Host alias: letters, digits, . _ - only; look-alikes folded; '' if nothing is left. */
export function sanitizeAlias(name: string): string {
  const folded = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
  return folded.slice(0, MAX_ALIAS).replace(/[-.]+$/g, '')
}

/** A login name as Debian's useradd accepts it by default (lower case), or undefined. */
export function sanitizeUser(user: string | undefined): string | undefined {
  return user !== undefined && /^[a-z_][a-z0-9_-]{0,31}$/.test(user) ? user : undefined
}

/**
 * One word of a ProxyCommand: ssh expands %-tokens in it, then hands the line to `/bin/sh -c`, so it
 * is quoted for the shell (single quotes, `'` as `'\''`: nothing inside runs) and its % doubled.
 */
export function quoteProxyArg(arg: string): string {
  if (/[\0\n\r]/.test(arg)) throw new Error(`cannot put ${JSON.stringify(arg)} in a ProxyCommand`)
  const escaped = arg.replace(/%/g, '%%')
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) ? escaped : `'${escaped.replace(/'/g, `'\\''`)}'`
}

/** How a ProxyCommand starts ssm-ssh: the installed command when it is on PATH, else node and the script. */
export interface Launcher {
  node: string
  script: string
  /** `ssm-ssh` when PATH finds this very script under that name */
  command?: string
}

export function launcherWords(l: Launcher): string[] {
  return l.command ? [l.command] : [l.node, l.script]
}

/** One ssh_config argument: double quotes around it when it has spaces, % as %% (no tokens). */
export function quoteConfigArg(arg: string): string {
  if (/["\n\r]/.test(arg)) throw new Error(`cannot put ${JSON.stringify(arg)} in an ssh config`)
  const escaped = arg.replace(/%/g, '%%')
  return /[\s#'\\]/.test(escaped) ? `"${escaped}"` : escaped
}
