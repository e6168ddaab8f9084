// Which of our would-be aliases the user's ssh already sends somewhere: ssh -G, reading what their
// ssh reads without our stanzas (their config, its includes and wildcards, the system config), says
// another HostName, a ProxyCommand or a ProxyJump. Our Include comes first in ~/.ssh/config, so an
// alias of ours would silently win: such names are reported instead.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readText } from './config-files.ts'
import { type ConfigFiles, hostPatterns, patternRegExp } from './host-patterns.ts'

const SYSTEM_CONFIG = '/etc/ssh/ssh_config'

/** What `ssh -G` prints, as the alias being taken over or not. */
export function sendsElsewhere(alias: string, sshG: string): boolean {
  const value = (key: string) => new RegExp(`^${key} (.*)$`, 'm').exec(sshG)?.[1]?.trim()
  const hostname = value('hostname')
  const proxy = value('proxycommand')
  const jump = value('proxyjump')
  return (
    (hostname !== undefined && hostname.toLowerCase() !== alias.toLowerCase()) ||
    (proxy !== undefined && proxy !== 'none') ||
    (jump !== undefined && jump !== 'none')
  )
}

/** The files hostPatterns reads, from disk (a missing one is none). */
const diskFiles: ConfigFiles = { read: readText, list: (dir) => readdir(dir).catch(() => []) }

/**
 * The aliases the user's ssh resolves elsewhere. `userConfigText` is their ~/.ssh/config without our
 * Include line. Aliases no Host pattern of theirs (nor of the system config) names beyond `*` are
 * answered by one `ssh -G` of a name nobody uses; the others, or all when the configs could decide on
 * more than the name, by one `ssh -G` each. `checked` counts the ssh -G runs.
 */
export async function shadowedAliases(
  aliases: string[],
  userConfigText: string,
  options: { env: NodeJS.ProcessEnv; parallel?: number; files?: ConfigFiles; checked?: { runs: number } },
): Promise<Set<string>> {
  const { execa } = await import('execa')
  const dir = await mkdtemp(join(tmpdir(), 'ssm-ssh-shadow-'))
  try {
    const config = join(dir, 'config')
    // -F replaces both files ssh reads: name them both
    await writeFile(config, `${userConfigText}\n\nMatch all\nInclude ${SYSTEM_CONFIG}\n`, { mode: 0o600 })
    const elsewhere = async (alias: string) => {
      if (options.checked) options.checked.runs++
      const r = await execa('ssh', ['-G', '-F', config, '--', alias], {
        env: options.env,
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        timeout: 10_000,
      })
      return r.exitCode === 0 && sendsElsewhere(alias, String(r.stdout))
    }
    const shadowed = new Set<string>()
    let ask = aliases
    const named = await namedPatterns(userConfigText, options.files ?? diskFiles, options.env)
    if (named !== undefined) {
      const probe = `ssm-ssh-probe-${randomBytes(6).toString('hex')}`
      const mentioned = (name: string) => named.some((re) => re.test(name.toLowerCase()))
      if (!mentioned(probe)) {
        ask = aliases.filter(mentioned)
        if (await elsewhere(probe)) for (const alias of aliases) if (!mentioned(alias)) shadowed.add(alias)
      }
    }
    const queue = [...ask]
    const worker = async () => {
      for (let alias = queue.shift(); alias !== undefined; alias = queue.shift())
        if (await elsewhere(alias)) shadowed.add(alias)
    }
    await Promise.all(Array.from({ length: options.parallel ?? 8 }, worker))
    return shadowed
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** The Host patterns beyond `*` of the user's config and the system's, or undefined (ask every name). */
async function namedPatterns(
  userConfigText: string,
  files: ConfigFiles,
  env: NodeJS.ProcessEnv,
): Promise<RegExp[] | undefined> {
  const home = env.HOME
  if (!home) return undefined
  const user = await hostPatterns(userConfigText, files, { home, relativeTo: join(home, '.ssh') })
  const systemText = await files.read(SYSTEM_CONFIG).catch(() => null)
  if (systemText === null) return undefined
  const system =
    systemText === undefined ? [] : await hostPatterns(systemText, files, { home, relativeTo: '/etc/ssh' })
  if (user === undefined || system === undefined) return undefined
  return [...user, ...system].filter((p) => p !== '*').map(patternRegExp)
}
