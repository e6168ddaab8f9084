// Recipes: named root scripts `run --recipe NAME` sends through Run Command in place of command
// words. Each is a file in templates/recipes/, idempotent, and prints one line per host.

export const RECIPES: Record<string, { file: string; summary: string }> = {
  'cloudwatch-agent': {
    file: 'cloudwatch-agent.sh',
    summary: "point the CloudWatch agent's common-config.toml at the credentials the SSM agent rotates",
  },
}

export function recipeNames(): string[] {
  return Object.keys(RECIPES)
}
