// The shell scripts ssm-ssh runs on instances (templates/), found beside the bundle (dist/) or the
// sources (src/…) alike.
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CliError } from '../support/errors.ts'

export async function readTemplate(name: string): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const dir of [resolve(here, '../templates'), resolve(here, '../../templates')]) {
    try {
      return await readFile(join(dir, name), 'utf8')
    } catch {
      // next candidate
    }
  }
  throw new CliError(`the script template ${name} is missing`, {
    hint: 'reinstall ssm-ssh (templates/ ships with it)',
  })
}
