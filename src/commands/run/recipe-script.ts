// A recipe's script text, from templates/recipes/ beside the installed CLI (dist/ or src/).
import { RECIPES } from '../../domain/run/recipes.ts'
import { UsageError } from '../../support/errors.ts'
import { readTemplate } from '../../support/templates.ts'

export async function recipeScript(name: string): Promise<string> {
  const file = RECIPES[name]?.file
  if (!file)
    throw new UsageError(`there is no recipe ${name}`, {
      hint: `recipes: ${Object.keys(RECIPES).join(', ')}`,
    })
  return readTemplate(`recipes/${file}`)
}
