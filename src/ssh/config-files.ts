// The user's ssh files: ~/.ssh 0700, files 0600, every write atomic (temp + rename), the user's
// config backed up before we touch it, and a lock so two runs never interleave.
import { chmod, mkdir, open, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../support/atomic-file.ts'
import { CliError } from '../support/errors.ts'

export async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

export async function ensureSshDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
}

/** Hold `<dir>/config.ssm-ssh.lock` while `work` runs; a lock older than a minute is stale. */
export async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(dir, 'config.ssm-ssh.lock')
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lock, 'wx', 0o600)
      await handle.writeFile(String(process.pid))
      await handle.close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs
      if (age > 60_000) await rm(lock, { force: true })
      else if (attempt > 50)
        throw new CliError(`another ssm-ssh config is running (${lock})`, {
          hint: 'wait for it, or delete the lock file if no ssm-ssh runs',
        })
      else await new Promise((r) => setTimeout(r, 100))
    }
  }
  try {
    return await work()
  } finally {
    await rm(lock, { force: true })
  }
}

/** Write the user's file atomically, keeping its mode (0600 when new) and a backup of what was there. */
export async function writeUserFile(
  path: string,
  text: string,
  before: string | undefined,
  options: { beforeRename?: (temp: string) => Promise<void> } = {},
): Promise<void> {
  if (before !== undefined) await writeFileAtomic(`${path}.ssm-ssh.bak`, before, { mode: 0o600 })
  await writeFileAtomic(path, text, {
    ...(before === undefined ? { mode: 0o600 } : {}),
    ...(options.beforeRename ? { beforeRename: options.beforeRename } : {}),
  })
}
