import { homedir } from 'node:os'
import { isAbsolute, join } from 'node:path'

export interface Paths {
  home: string
  /** ~/.ssh unless --ssh-dir */
  sshDir: string
  /** XDG cache dir for ssm-ssh */
  cacheDir: string
  /** XDG state dir for ssm-ssh (keys, hop definitions) */
  stateDir: string
}

export function resolvePaths(env: NodeJS.ProcessEnv, sshDir?: string): Paths {
  const home = env.HOME || homedir()
  const cacheRoot = xdg(env.XDG_CACHE_HOME) ?? join(home, '.cache')
  const stateRoot = xdg(env.XDG_STATE_HOME) ?? join(home, '.local', 'state')
  return {
    home,
    sshDir: sshDir ?? join(home, '.ssh'),
    cacheDir: join(cacheRoot, 'ssm-ssh'),
    stateDir: join(stateRoot, 'ssm-ssh'),
  }
}

/**
 * An XDG base directory, if it is one: the spec says a relative path is invalid and to be ignored
 * (a relative XDG_CACHE_HOME would put the cache, and the code cache we execute, in whatever
 * directory ssh happens to start the ProxyCommand in).
 */
function xdg(value: string | undefined): string | undefined {
  return value && isAbsolute(value) ? value : undefined
}
