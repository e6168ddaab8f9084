// The user's ssh files: ~/.ssh 0700, files 0600, every write atomic (temp + rename), the user's
// config backed up before we touch it, and a lock so two runs never interleave.
import { chmod, mkdir, open, readdir, readFile, realpath, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
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

/**
 * Hold `<dir>/<name>` (default config.ssm-ssh.lock) while `work` runs; a lock older than a minute is
 * stale. Everything `work` reads and writes is read inside it: concurrent runs then never lose each
 * other's changes (3 concurrent regions kept 1 or 2 of their 3 blocks when files were read outside).
 */
export async function withLock<T>(
  dir: string,
  work: () => Promise<T>,
  name = 'config.ssm-ssh.lock',
): Promise<T> {
  const lock = join(dir, name)
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

/** Backups of the user's config we keep: config.ssm-ssh.<time>.bak, the newest BACKUPS of them. */
const BACKUPS = 5

/**
 * Write the user's file atomically, keeping its mode (0600 when new) and a dated backup of what was
 * there (the last five kept; a single .bak was overwritten each time). A symlinked file (a dotfiles
 * repository) stays a symlink: the file it points to is the one replaced.
 */
export async function writeUserFile(
  path: string,
  text: string,
  before: string | undefined,
  options: { beforeRename?: (temp: string) => Promise<void>; now?: Date } = {},
): Promise<void> {
  const target = await realpath(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return path
    throw error
  })
  if (before !== undefined) await backUp(path, before, options.now ?? new Date())
  await writeFileAtomic(target, text, {
    ...(before === undefined ? { mode: 0o600 } : {}),
    ...(options.beforeRename ? { beforeRename: options.beforeRename } : {}),
  })
}

async function backUp(path: string, before: string, now: Date): Promise<void> {
  const dir = dirname(path)
  const prefix = `${basename(path)}.ssm-ssh.`
  // milliseconds in the name: names sort in time order, and two runs in one second keep two backups
  let at = now.getTime()
  const nameAt = (t: number) => `${prefix}${new Date(t).toISOString().replace(/[-:]/g, '')}.bak`
  while (
    await stat(join(dir, nameAt(at))).then(
      () => true,
      () => false,
    )
  )
    at++
  await writeFileAtomic(join(dir, nameAt(at)), before, { mode: 0o600 })
  const old = (await readdir(dir))
    .filter((f) => f.startsWith(prefix) && /\d{8}T\d{6}\.\d{3}Z\.bak$/.test(f))
    .sort()
  for (const f of old.slice(0, Math.max(0, old.length - BACKUPS))) await rm(join(dir, f), { force: true })
}
