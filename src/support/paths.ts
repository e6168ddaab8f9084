import { homedir } from 'node:os'
import { join } from 'node:path'

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
  const cacheRoot = env.XDG_CACHE_HOME || join(home, '.cache')
  const stateRoot = env.XDG_STATE_HOME || join(home, '.local', 'state')
  return {
    home,
    sshDir: sshDir ?? join(home, '.ssh'),
    cacheDir: join(cacheRoot, 'ssm-ssh'),
    stateDir: join(stateRoot, 'ssm-ssh'),
  }
}
