// Which of our would-be aliases the user's ssh already sends somewhere: ssh -G, reading what their
// ssh reads without our stanzas (their config, its includes and wildcards, the system config), says
// another HostName, a ProxyCommand or a ProxyJump. Our Include comes first in ~/.ssh/config, so an
// alias of ours would silently win: such names are reported instead.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

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

/**
 * The aliases the user's ssh resolves elsewhere. `userConfigText` is their ~/.ssh/config without our
 * Include line; `sshDir` is where its relative Includes are looked up (ssh: ~/.ssh).
 */
export async function shadowedAliases(
  aliases: string[],
  userConfigText: string,
  options: { env: NodeJS.ProcessEnv; parallel?: number },
): Promise<Set<string>> {
  const { execa } = await import('execa')
  const dir = await mkdtemp(join(tmpdir(), 'ssm-ssh-shadow-'))
  try {
    const config = join(dir, 'config')
    // -F replaces both files ssh reads: name them both
    await writeFile(config, `${userConfigText}\n\nMatch all\nInclude ${SYSTEM_CONFIG}\n`, { mode: 0o600 })
    const shadowed = new Set<string>()
    const queue = [...aliases]
    const worker = async () => {
      for (let alias = queue.shift(); alias !== undefined; alias = queue.shift()) {
        const r = await execa('ssh', ['-G', '-F', config, '--', alias], {
          env: options.env,
          extendEnv: false,
          reject: false,
          stdin: 'ignore',
          timeout: 10_000,
        })
        if (r.exitCode === 0 && sendsElsewhere(alias, String(r.stdout))) shadowed.add(alias)
      }
    }
    await Promise.all(Array.from({ length: options.parallel ?? 8 }, worker))
    return shadowed
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
