// Where a ProxyCommand finds ssm-ssh: the installed command (npm install -g, npm link) when PATH's
// first `ssm-ssh` is this very CLI, so the stanza survives a node upgrade or a moved checkout.
import { accessSync, constants, realpathSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'

/** The absolute path of PATH's first `ssm-ssh` if it runs `script`, else undefined. */
export function installedCommand(script: string, env: NodeJS.ProcessEnv): string | undefined {
  let ours: string
  try {
    ours = realpathSync(script)
  } catch {
    return undefined
  }
  for (const dir of (env.PATH ?? '').split(':')) {
    // a relative PATH entry would mean something else in ssh's working directory
    if (dir === '' || !isAbsolute(dir)) continue
    const candidate = join(dir, 'ssm-ssh')
    try {
      accessSync(candidate, constants.X_OK)
    } catch {
      continue
    }
    try {
      return realpathSync(candidate) === ours ? candidate : undefined
    } catch {
      return undefined
    }
  }
  return undefined
}
