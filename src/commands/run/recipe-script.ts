// A recipe's script text, from templates/recipes/ beside the installed CLI (dist/ or src/).
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RECIPES } from '../../domain/run/recipes.ts'
import { CliError } from '../../support/errors.ts'

export async function recipeScript(name: string): Promise<string> {
  const file = RECIPES[name]?.file
  const here = dirname(fileURLToPath(import.meta.url))
  for (const dir of [
    resolve(here, '../templates'),
    resolve(here, '../../templates'),
    resolve(here, '../../../templates'),
  ]) {
    try {
      if (file) return await readFile(join(dir, 'recipes', file), 'utf8')
    } catch {
      // next candidate
    }
  }
  throw new CliError(`the script of recipe ${name} is missing`, {
    hint: 'reinstall ssm-ssh (templates/ ships with it)',
  })
}
