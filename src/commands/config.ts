// ssm-ssh config: our stanzas in ~/.ssh/ssm-ssh/config, one Include line for them in ~/.ssh/config.
// The user's file is never parsed and re-printed: two lines go in at the top, --remove takes exactly
// those out. Every write is atomic with a backup, under a lock.
import { rm } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { Command, Context } from '../cli/command.ts'
import type { Launcher } from '../domain/ssh-config/sanitize.ts'
import type { Hop } from '../domain/ssh-config/stanzas.ts'
import { unifiedDiff } from '../domain/text-diff.ts'
import { installedCommand } from '../ssh/installed.ts'
import { UsageError } from '../support/errors.ts'
import { transportFlags } from './transport-flags.ts'

export interface ConfigOptions {
  action: 'write' | 'remove' | 'add-host' | 'remove-host' | 'hosts'
  dryRun: boolean
  check: boolean
  sshDir?: string
  user?: string
  aliasFormat: string
  hop?: Hop
  pushKey: boolean
  /** the connect-time stanza's suffix (Host *.ssm); '' for none */
  suffix?: string
  /** take Name tags with a dot as aliases */
  allowDots: boolean
  /** ControlPersist for our stanzas (repeat connections ride the first one's session) */
  persist?: string
  /** --transport plugin: the stanzas' sessions go through the official session-manager-plugin */
  plugin?: { path?: string }
}

const ADDRESS =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[?[0-9a-fA-F:]+\]?$/

export function parse(argv: string[]): ConfigOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean' },
      check: { type: 'boolean' },
      remove: { type: 'boolean' },
      'ssh-dir': { type: 'string' },
      user: { type: 'string' },
      'alias-format': { type: 'string' },
      via: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'push-key': { type: 'boolean' },
      suffix: { type: 'string' },
      'allow-dots': { type: 'boolean' },
      persist: { type: 'string' },
      transport: { type: 'string' },
      plugin: { type: 'string' },
    },
  })
  const [sub, alias, extra] = positionals
  const common = {
    dryRun: values['dry-run'] ?? false,
    check: values.check ?? false,
    aliasFormat: values['alias-format'] ?? '{name}',
    pushKey: values['push-key'] ?? false,
    ...(values.suffix !== undefined ? { suffix: values.suffix } : {}),
    allowDots: values['allow-dots'] ?? false,
    ...(values.persist !== undefined ? { persist: values.persist } : {}),
    ...pluginOption(values.transport, values.plugin),
    ...(values['ssh-dir'] ? { sshDir: values['ssh-dir'] } : {}),
    // add-host's --user is that hop's login, never the instances' (it reached every stanza)
    ...(values.user && sub !== 'add-host' ? { user: values.user } : {}),
  }
  if (values.user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/i.test(values.user))
    throw new UsageError(`--user ${values.user} is not a login name`, { hint: 'e.g. --user pi' })
  if (
    values.suffix !== undefined &&
    values.suffix !== '' &&
    !/^\.[A-Za-z0-9][A-Za-z0-9.-]{0,30}$/.test(values.suffix)
  )
    throw new UsageError(`--suffix ${values.suffix} is not a domain suffix`, {
      hint: "e.g. --suffix .ssm (the default), or --suffix '' for no connect-time stanza",
    })
  if (values.persist !== undefined && !/^([1-9]\d{0,5}[smhdw]?|yes)$/.test(values.persist))
    throw new UsageError(`--persist ${values.persist} is not a duration`, {
      hint: 'e.g. --persist 10m (ssh keeps the connection that long after the last session closes)',
    })
  if (!common.aliasFormat.includes('{name}'))
    throw new UsageError('--alias-format must contain {name}', {
      hint: 'e.g. --alias-format {name}.{profile}',
    })
  if (sub === 'add-host') {
    if (!alias || extra)
      throw new UsageError('add-host takes one alias', {
        hint: 'ssm-ssh config add-host lab-printer --via pi-gateway --host 10.20.0.10',
      })
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(alias) || /^(i|mi)-/.test(alias))
      throw new UsageError(`"${alias}" is not a usable alias`, {
        hint: 'letters, digits, . _ - (not i-/mi-)',
      })
    if (!values.via || !values.host)
      throw new UsageError('add-host needs --via and --host', {
        hint: 'ssm-ssh config add-host lab-printer --via pi-gateway --host 10.20.0.10',
      })
    if (!ADDRESS.test(values.host))
      throw new UsageError(`--host ${values.host} is not a host name or address`, {
        hint: 'e.g. --host 10.20.0.10',
      })
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(values.via))
      throw new UsageError(`--via ${values.via} is not an instance or alias`, {
        hint: 'an i-/mi- id, an instance name or another add-host alias',
      })
    const port = Number(values.port ?? '22')
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new UsageError(`--port ${values.port} is not a port`, { hint: 'e.g. --port 22' })
    return {
      ...common,
      action: 'add-host',
      hop: { alias, via: values.via, host: values.host, port, ...(values.user ? { user: values.user } : {}) },
    }
  }
  if (sub === 'remove-host') {
    if (!alias || extra)
      throw new UsageError('remove-host takes one alias', { hint: 'ssm-ssh config remove-host lab-printer' })
    return { ...common, action: 'remove-host', hop: { alias, via: '', host: '', port: 22 } }
  }
  if (sub === 'hosts') {
    if (alias) throw new UsageError(`unexpected argument "${alias}"`, { hint: 'ssm-ssh config hosts' })
    return { ...common, action: 'hosts' }
  }
  if (sub !== undefined)
    throw new UsageError(`unknown config action "${sub}"`, {
      hint: 'ssm-ssh config [--remove|--check|--dry-run] or ssm-ssh config add-host …',
    })
  if (values.via || values.host || values.port)
    throw new UsageError('--via, --host and --port go with add-host', {
      hint: 'ssm-ssh config add-host ALIAS --via … --host …',
    })
  if ([values.remove, values.check, values['dry-run']].filter(Boolean).length > 1)
    throw new UsageError('--remove, --check and --dry-run do not go together', { hint: 'pick one' })
  return { ...common, action: values.remove ? 'remove' : 'write' }
}

/** --transport plugin [--plugin PATH] for the stanzas: proxy's flags, the path absolute and one line. */
function pluginOption(
  transport: string | undefined,
  path: string | undefined,
): { plugin?: { path?: string } } {
  const flags = transportFlags(transport, path)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a path with control characters is refused
  if (path !== undefined && (!isAbsolute(path) || /[\0-\x1f\x7f]/.test(path)))
    throw new UsageError(`--plugin ${JSON.stringify(path)} is not an absolute path`, {
      hint: 'e.g. --plugin /usr/local/bin/session-manager-plugin (without it, PATH is searched)',
    })
  if (flags.transport !== 'plugin') return {}
  return { plugin: path !== undefined ? { path } : {} }
}

async function templates(): Promise<{ wildcard: string; host: string }> {
  const { readTemplate } = await import('../support/templates.ts')
  return { wildcard: await readTemplate('wildcard.conf'), host: await readTemplate('host.conf') }
}

async function run(options: ConfigOptions, ctx: Context): Promise<number> {
  const { ensureSshDir, readText, withLock, writeUserFile } = await import('../ssh/config-files.ts')
  const { addInclude, removeBlock, removeInclude, replaceBlock } = await import(
    '../domain/ssh-config/include.ts'
  )
  const { readHops, writeHops } = await import('../ssh/hops.ts')
  const sshDir = resolve(options.sshDir ?? ctx.paths.sshDir)
  const userFile = join(sshDir, 'config')
  const ourFile = join(sshDir, 'ssm-ssh', 'config')
  const profile = ctx.global.profile ?? (ctx.env.AWS_PROFILE || undefined)
  const region = ctx.global.region ?? (ctx.env.AWS_REGION || ctx.env.AWS_DEFAULT_REGION || undefined)
  const scope = `profile=${profile ?? 'default'} region=${region ?? 'default'}`

  if (options.action === 'hosts') {
    // the hops add-host declared: ALIAS → HOST:PORT via JUMP [as USER], one a line
    const { safeLabel } = await import('../support/terminal-text.ts')
    for (const h of await readHops(ctx.paths.stateDir))
      ctx.io.stdout.write(
        `${safeLabel(`${h.alias} → ${h.host}:${h.port} via ${h.via}${h.user ? ` as ${h.user}` : ''}`)}\n`,
      )
    return 0
  }
  if (options.action === 'remove-host' && options.hop) {
    const alias = options.hop.alias
    const hops = await readHops(ctx.paths.stateDir)
    if (!hops.some((h) => h.alias === alias))
      throw new UsageError(`no host "${alias}" was added`, { hint: 'ssm-ssh config hosts lists them' })
    const kept = hops.filter((h) => h.alias !== alias)
    const dependents = kept.filter((h) => h.via === alias).map((h) => h.alias)
    if (dependents.length > 0)
      throw new UsageError(
        `${dependents.join(', ')} ${dependents.length > 1 ? 'go' : 'goes'} through ${alias}`,
        {
          hint: `remove ${dependents.length > 1 ? 'those' : 'that'} first (ssm-ssh config remove-host ${dependents[0]})`,
        },
      )
    await writeHops(ctx.paths.stateDir, kept)
    ctx.log.info(`removed ${alias}; rewriting the stanzas`)
  }
  if (options.action === 'add-host' && options.hop) {
    const hops = (await readHops(ctx.paths.stateDir)).filter((h) => h.alias !== options.hop?.alias)
    await writeHops(ctx.paths.stateDir, [...hops, options.hop])
    ctx.log.info(
      `recorded ${options.hop.alias} → ${options.hop.host}:${options.hop.port} via ${options.hop.via}`,
    )
  }

  if (options.action === 'remove') {
    if (options.dryRun) return 0
    await ensureSshDir(sshDir)
    return withLock(sshDir, async () => {
      const user = await readText(userFile)
      if (user !== undefined) {
        const restored = removeInclude(user, ourFile)
        if (restored !== user) await writeUserFile(userFile, restored, user)
      }
      const ours = removeBlock((await readText(ourFile)) ?? '', scope)
      if (ours.replace(/^#[^\n]*\n/gm, '').trim() === '') await rm(ourFile, { force: true })
      else await writeUserFile(ourFile, ours, undefined)
      ctx.log.info(`removed ssm-ssh's stanzas (${scope}) and its Include line`)
      return 0
    })
  }

  // Resolve hops' jumps to ids and list the fleet
  const { clientsFor, fleetSourceFor } = await import('./aws-context.ts')
  const { getFleet } = await import('../aws/fleet.ts')
  const { resolveTarget } = await import('../domain/resolve.ts')
  const { renderBlock } = await import('../domain/ssh-config/stanzas.ts')
  const fleet = await getFleet(fleetSourceFor(ctx, clientsFor(ctx)), 0)
  // A jump named like an instance becomes its id (remote-host forwarding); any other name is
  // taken as another hop's alias (ProxyJump), so every hop checks its own host key.
  const hops = (await readHops(ctx.paths.stateDir)).map((hop) => {
    const r = resolveTarget(hop.via, fleet.instances)
    return r.kind === 'found' ? { ...hop, via: r.instance.id } : hop
  })
  if (options.pushKey) {
    // ssh reads IdentityFile before it starts the ProxyCommand: the key must exist already
    const { ensureKeyPair } = await import('../ssh/keygen.ts')
    await ensureKeyPair(join(ctx.paths.stateDir, 'id_ed25519'), 'ssm-ssh')
  }
  const { default: SSHConfig } = await import('ssh-config')
  const settings = {
    ...(options.pushKey
      ? {
          pushKey: {
            identityFile: join(ctx.paths.stateDir, 'id_ed25519'),
            knownHosts: join(sshDir, 'ssm-ssh', 'known_hosts'),
            sshDir,
          },
        }
      : {}),
    executable: withInstalledCommand(ctx),
    // what the block is labelled with (flag, else AWS_PROFILE / AWS_REGION) is what its sessions use
    ...(profile ? { profile } : {}),
    ...(region ? { region } : {}),
    ...(ctx.global.endpoint ? { endpoint: ctx.global.endpoint } : {}),
    ...(options.user ? { user: options.user } : {}),
    aliasFormat: options.aliasFormat,
    ...(options.suffix !== undefined ? { suffix: options.suffix } : {}),
    allowDots: options.allowDots,
    ...(options.persist
      ? { persist: { duration: options.persist, controlDir: controlDir(dirname(ourFile)) } }
      : {}),
    ...(options.plugin ? { plugin: options.plugin } : {}),
    templates: await templates(),
  }
  // names the user's ssh already sends somewhere are not taken over (checked with ssh -G on the
  // config as it is now, without our Include)
  const { assignAliases } = await import('../domain/ssh-config/stanzas.ts')
  const { shadowedAliases } = await import('../ssh/shadowing.ts')
  const candidates = [...assignAliases(fleet.instances, settings).aliases.keys()]
  const shadowed = await shadowedAliases(
    candidates,
    removeInclude((await readText(userFile)) ?? '', ourFile),
    {
      env: ctx.env,
    },
  )
  /** Both files as they are now, and as this run leaves them (read under the lock when writing). */
  const plan = async () => {
    const userBefore = (await readText(userFile)) ?? ''
    const reserved = new Set<string>()
    for (const line of SSHConfig.parse(userBefore)) {
      if (!('param' in line) || line.param.toLowerCase() !== 'host') continue
      const values = Array.isArray(line.value)
        ? line.value.map((v) => (typeof v === 'string' ? v : v.val))
        : [String(line.value)]
      for (const v of values) if (!/[*?!]/.test(v)) reserved.add(v)
    }
    const { text, report } = renderBlock(fleet.instances, hops, { ...settings, reserved, shadowed })
    const oursBefore = (await readText(ourFile)) ?? ''
    const header = '# ssm-ssh stanzas: generated by `ssm-ssh config`; hand edits are lost on the next run\n\n'
    const oursAfter = replaceBlock(oursBefore === '' ? header : oursBefore, scope, text)
    return { userBefore, userAfter: addInclude(userBefore, ourFile), oursBefore, oursAfter, report }
  }
  const report = (r: Awaited<ReturnType<typeof plan>>['report']) => {
    for (const x of r.renamed)
      ctx.log.warn(
        `${x.id} "${x.name}" → alias ${x.alias} (${x.reason === 'clone' ? 'clone: same ComputerName and name as another id' : x.reason === 'collision' ? 'name shared with another instance' : 'no usable name'})`,
      )
    for (const u of r.userDefined)
      ctx.log.warn(
        `your config already has "Host ${u.alias}": left as you wrote it (${u.id} is reachable as ${u.id})`,
      )
    for (const x of r.refused)
      ctx.log.warn(
        x.reason === 'dotted'
          ? `${x.id} is named "${x.alias}", which looks like a host name: no alias (reach it as ${x.id}; --allow-dots takes such names)`
          : `your ssh already sends "${x.alias}" elsewhere (ssh -G): not shadowed (reach ${x.id} as ${x.id} or ${x.alias}${settings.suffix ?? '.ssm'})`,
      )
  }
  if (options.check || options.dryRun) {
    const p = await plan()
    report(p.report)
    if (options.dryRun) {
      ctx.io.stdout.write(
        unifiedDiff(p.userBefore, p.userAfter, userFile) + unifiedDiff(p.oursBefore, p.oursAfter, ourFile),
      )
      return 0
    }
    const stale = p.oursAfter !== p.oursBefore || p.userAfter !== p.userBefore
    if (stale) ctx.log.warn(`${ourFile} is out of date: run ssm-ssh config`)
    return stale ? 1 : 0
  }
  await ensureSshDir(sshDir)
  await ensureSshDir(dirname(ourFile))
  const written = await withLock(sshDir, async () => {
    const p = await plan()
    if (p.oursAfter !== p.oursBefore) await writeUserFile(ourFile, p.oursAfter, undefined)
    if (p.userAfter !== p.userBefore)
      await writeUserFile(userFile, p.userAfter, p.userBefore === '' ? undefined : p.userBefore)
    return p
  })
  report(written.report)
  ctx.log.info(`${fleet.instances.length} instances and ${hops.length} hops in ${ourFile} (${scope})`)
  return 0
}

export const config: Command<ConfigOptions> = {
  name: 'config',
  summary: 'write ssh config stanzas for the fleet (lossless: one Include line in ~/.ssh/config)',
  usage:
    'ssm-ssh config [--dry-run|--check|--remove] [--ssh-dir DIR] [--user NAME] [--alias-format {name}.{profile}] [--suffix .ssm] [--allow-dots] [--persist 10m] [--transport plugin [--plugin PATH]] | config add-host ALIAS --via JUMP --host ADDR [--port N] [--user NAME] | config hosts | config remove-host ALIAS',
  examples: [
    'ssm-ssh config                 (then: ssh pi-kitchen, or ssh pi-kitchen.ssm, resolved when connecting)',
    'ssm-ssh config --check',
    'ssm-ssh config --persist 10m   (a repeat ssh within 10 min skips the session set-up; its channels share one session, ~1 MB/s)',
    'ssm-ssh config --transport plugin   (sessions through the official session-manager-plugin; hops stay native)',
    'ssm-ssh config add-host lab-printer --via pi-gateway --host 10.20.0.10 --user admin',
    'ssm-ssh config hosts            (the hosts added, and the way to each)',
    'ssm-ssh config remove-host lab-printer',
  ],
  parse,
  run,
}

/** The stanzas run the installed `ssm-ssh` when PATH has it (a stable path), else node and this script. */
function withInstalledCommand(ctx: Context): Launcher {
  const command = installedCommand(ctx.executable.script, ctx.env)
  return command ? { ...ctx.executable, command } : ctx.executable
}

/**
 * Where the --persist control sockets go: `cm-%C` there is 43 bytes, and ssh adds a 17-byte temporary
 * suffix while it binds; a Unix socket path has 104 usable bytes on some systems (108 on Linux).
 */
function controlDir(dir: string): string {
  if (Buffer.byteLength(dir) + 1 + 43 + 17 > 104)
    throw new UsageError(`${dir} is too long a path for ssh's control sockets (--persist)`, {
      hint: 'use a shorter --ssh-dir, or leave out --persist',
    })
  return dir
}
