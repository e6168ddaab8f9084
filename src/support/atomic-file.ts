// Files we write for the user are never left half-written: write a temp file beside the target,
// fsync it, then rename over the target (atomic on one file system).
import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export interface AtomicWriteOptions {
  /** file mode; default: keep the existing file's mode, else 0o600 */
  mode?: number
  /** mode for a parent directory we have to create */
  dirMode?: number
  /** test hook: called after the temp file is written and before the rename (simulate a crash) */
  beforeRename?: (tempPath: string) => Promise<void> | void
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true, mode: options.dirMode ?? 0o700 })
  let mode = options.mode
  if (mode === undefined) {
    try {
      mode = (await stat(path)).mode & 0o777
    } catch {
      mode = 0o600
    }
  }
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temp, 'wx', mode)
  try {
    await handle.writeFile(data)
    await handle.chmod(mode)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await options.beforeRename?.(temp)
    await rename(temp, path)
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  }
}
