// The stanzas ssm-ssh writes: a wildcard block for ids, one alias block per instance, one per
// declared hop. Pure: instances and settings in, text out (templates/ hold the shapes).
import type { Instance } from '../instance.ts'
import {
  type Launcher,
  launcherWords,
  quoteConfigArg,
  quoteProxyArg,
  sanitizeAlias,
  sanitizeUser,
} from './sanitize.ts'

export interface Hop {
  alias: string
  /** a managed instance id (remote-host forwarding) or another hop's alias (ProxyJump) */
  via: string
  host: string
  port: number
  user?: string
}

export interface StanzaSettings {
  /** node + our CLI script, absolute, or the installed command */
  executable: Launcher
  profile?: string
  region?: string
  /** --endpoint-url the stanzas were made with (a VPC endpoint, a sandbox): the sessions go there too */
  endpoint?: string
  /**
   * The connect-time stanza's suffix (default '.ssm'): `ssh pi-kitchen.ssm` resolves the name when it
   * connects, so a rename, a re-activation or a new instance needs no new `ssm-ssh config`. '' for none.
   */
  suffix?: string
  user?: string
  /** e.g. '{name}' (default) or '{name}.{profile}' */
  aliasFormat: string
  templates: { wildcard: string; host: string }
  /** Host names the user's own config already defines: reported, never overridden */
  reserved?: Set<string>
  /**
   * Aliases the user's ssh already sends elsewhere (ssh -G, with their includes, wildcards and the
   * system config, says another HostName, ProxyCommand or ProxyJump): reported, never shadowed.
   */
  shadowed?: Set<string>
  /** take names with a dot as aliases (`gitlab.com` would otherwise capture ssh gitlab.com) */
  allowDots?: boolean
  /**
   * config --persist: ControlMaster/ControlPersist in our stanzas, so a repeat connection within this
   * time rides the first one's session (no new session set-up; all channels share its ~1 MB/s).
   */
  persist?: { duration: string; controlDir: string }
  /**
   * Opt-in one-step stanzas: proxy pushes ssm-ssh's own key for the ssh user (%r) before each
   * connection, ssh offers only that key, and host keys are checked against the pinned file —
   * strictly for mi- (push-key pins them first), accept-new for i- (EIC prints none).
   */
  pushKey?: { identityFile: string; knownHosts: string; sshDir: string }
  /**
   * config --transport plugin: sessions through the official session-manager-plugin (at `path`, else
   * found on PATH). Not for hops through a jump (--via): the plugin forwards those to a local port,
   * not stdio, so they stay native.
   */
  plugin?: { path?: string }
}

export interface AliasReport {
  /** instances whose names needed a suffix, with why */
  renamed: Array<{ id: string; name: string; alias: string; reason: 'clone' | 'collision' | 'empty' }>
  /** aliases left out because the user's config has a Host of that name */
  userDefined: Array<{ id: string; alias: string }>
  /** aliases left out because they look like a domain name, or the user's ssh sends that name elsewhere */
  refused: Array<{ id: string; alias: string; reason: 'dotted' | 'shadows' }>
}

export function proxyCommand(s: StanzaSettings, via?: string, stripSuffix?: string): string {
  const args = [...launcherWords(s.executable), 'proxy']
  if (s.profile) args.push('--profile', s.profile)
  if (s.region) args.push('--region', s.region)
  if (s.endpoint) args.push('--endpoint-url', s.endpoint)
  if (via) args.push('--via', via)
  if (stripSuffix) args.push('--strip-suffix', stripSuffix)
  if (s.plugin && !via) {
    args.push('--transport', 'plugin')
    if (s.plugin.path) args.push('--plugin', s.plugin.path)
  }
  if (s.pushKey && !via) args.push('--ssh-dir', s.pushKey.sshDir)
  const push = s.pushKey && !via ? ' --push-key --user %r' : ''
  return `${args.map(quoteProxyArg).join(' ')}${push} %h %p`
}

/** The plugin path proxyCommand wrote into stanzas (`--transport plugin --plugin PATH`), if any. */
export function stanzaPluginPath(stanzas: string): string | undefined {
  const word = /--transport plugin --plugin ('(?:[^']|'\\'')*'|\S+)/.exec(stanzas)?.[1]
  if (word === undefined) return undefined
  const unquoted = word.startsWith("'") ? word.slice(1, -1).replace(/'\\''/g, "'") : word
  return unquoted.replace(/%%/g, '%')
}

/** alias → instance, deterministic: sorted by id; duplicates get the id's last 6 characters. */
export function assignAliases(
  instances: Instance[],
  s: StanzaSettings,
): { aliases: Map<string, Instance>; report: AliasReport } {
  const sorted = [...instances].sort((a, b) => (a.id < b.id ? -1 : 1))
  const wanted = new Map<string, Instance[]>()
  const report: AliasReport = { renamed: [], userDefined: [], refused: [] }
  for (const i of sorted) {
    const base = sanitizeAlias(
      s.aliasFormat
        .replaceAll('{name}', i.name)
        .replaceAll('{profile}', s.profile ?? 'default')
        .replaceAll('{region}', s.region ?? ''),
    )
    const alias = base === '' || /^(i|mi)-/.test(base) ? '' : base
    if (alias === '') {
      report.renamed.push({ id: i.id, name: i.name, alias: i.id, reason: 'empty' })
      continue
    }
    // a Name tag is anyone's to set: one with a dot may be somebody's real host name (gitlab.com)
    if (!s.allowDots && sanitizeAlias(i.name).includes('.')) {
      report.refused.push({ id: i.id, alias, reason: 'dotted' })
      continue
    }
    wanted.set(alias, [...(wanted.get(alias) ?? []), i])
  }
  const aliases = new Map<string, Instance>()
  for (const [alias, group] of wanted) {
    if (group.length === 1) {
      aliases.set(alias, group[0] as Instance)
      continue
    }
    const first = group[0] as Instance
    const clones = group.every((g) => g.computerName === first.computerName && g.name === first.name)
    for (const i of group) {
      const unique = `${alias}-${i.id.slice(-6)}`
      aliases.set(unique, i)
      report.renamed.push({ id: i.id, name: i.name, alias: unique, reason: clones ? 'clone' : 'collision' })
    }
  }
  return { aliases, report }
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => values[key] ?? '')
}

export function renderBlock(
  instances: Instance[],
  hops: Hop[],
  s: StanzaSettings,
): { text: string; report: AliasReport } {
  const { aliases, report } = assignAliases(instances, s)
  const pushLines = (id: string) =>
    s.pushKey
      ? [
          `  IdentityFile ${quoteConfigArg(s.pushKey.identityFile)}`,
          '  IdentitiesOnly yes',
          `  UserKnownHostsFile ${quoteConfigArg(s.pushKey.knownHosts)}`,
          `  StrictHostKeyChecking ${id.startsWith('mi-') ? 'yes' : 'accept-new'}`,
        ]
      : []
  const persist = s.persist
    ? [
        '  ControlMaster auto',
        `  ControlPath ${quoteConfigArg(`${s.persist.controlDir}/cm-%C`).replace(/%%C/, '%C')}`,
        `  ControlPersist ${s.persist.duration}`,
      ]
    : []
  const block = (lines: string[]) => lines.map((l) => `${l}\n`).join('')
  const wildcard = `${fill(s.templates.wildcard, { proxyCommand: proxyCommand(s) })}${block(persist)}`
  const parts = [
    s.pushKey
      ? `${wildcard}${['Host mi-*', ...pushLines('mi-'), 'Host i-*', ...pushLines('i-')].join('\n')}\n`
      : wildcard,
  ]
  const suffix = s.suffix ?? '.ssm'
  if (suffix !== '') {
    const user = sanitizeUser(s.user)
    parts.push(
      [
        `Host *${suffix}`,
        ...(user ? [`  User ${user}`] : []),
        // without push-key's IdentityFile lines here, so without its --push-key too
        `  ProxyCommand ${proxyCommand({ ...s, pushKey: undefined }, undefined, suffix)}`,
        ...persist,
        '',
      ].join('\n'),
    )
  }
  for (const [alias, i] of [...aliases].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (s.reserved?.has(alias)) {
      report.userDefined.push({ id: i.id, alias })
      continue
    }
    if (s.shadowed?.has(alias)) {
      report.refused.push({ id: i.id, alias, reason: 'shadows' })
      continue
    }
    const user = sanitizeUser(s.user ?? i.tags['ssm-ssh:user'])
    parts.push(
      fill(s.templates.host, {
        alias,
        hostname: i.id,
        hostKeyAlias: i.id,
        extra: block([...(user ? [`  User ${user}`] : []), ...pushLines(i.id), ...persist]),
        proxyCommand: proxyCommand(s),
      }),
    )
  }
  for (const hop of hops) {
    const user = sanitizeUser(hop.user)
    const lines = [
      `Host ${hop.alias}`,
      `  HostName ${hop.host}`,
      `  Port ${hop.port}`,
      `  HostKeyAlias ${hop.alias}`,
    ]
    if (user) lines.push(`  User ${user}`)
    if (/^(i|mi)-/.test(hop.via)) lines.push(`  ProxyCommand ${proxyCommand(s, hop.via)}`)
    else lines.push(`  ProxyJump ${hop.via}`)
    parts.push(`${lines.join('\n')}\n`)
  }
  return { text: parts.join('\n'), report }
}
