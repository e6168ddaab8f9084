// config's check that no alias shadows a name the user's ssh already resolves, at fleet scale:
// `ssh -G` once per alias (what every config run did) next to one run for all the names that no Host
// pattern of the user's config mentions beyond `*` (what it does now): same aliases, config, answer.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConfigFiles } from '../src/ssh/host-patterns.ts'
import { shadowedAliases } from '../src/ssh/shadowing.ts'

const ALIASES = 2000

export async function benchConfig(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'ssm-ssh-bench-config-'))
  try {
    mkdirSync(join(home, '.ssh'), { mode: 0o700 })
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }
    // a user's config of the usual kind: a few hosts of their own, a wildcard, defaults for all
    const config =
      'Host build\n  HostName build.example\nHost pi-kit*\n  User pi\nHost *\n  ServerAliveInterval 30\n'
    const aliases = Array.from({ length: ALIASES }, (_, i) => `pi-${i}`)
    // the old way: a system config with a Match makes every name a question of its own
    const everyName: ConfigFiles = {
      read: async (path) => (path === '/etc/ssh/ssh_config' ? 'Match exec true\n' : undefined),
      list: async () => [],
    }
    const time = async (files?: ConfigFiles) => {
      const checked = { runs: 0 }
      const started = performance.now()
      const set = await shadowedAliases(aliases, config, { env, checked, ...(files ? { files } : {}) })
      return { ms: performance.now() - started, runs: checked.runs, shadowed: set.size }
    }
    const each = await time(everyName)
    const once = await time()
    process.stdout.write(
      `\n## config (shadow check, ${ALIASES} aliases)\nssh -G per alias: ${(each.ms / 1000).toFixed(2)} s (${each.runs} runs, ${each.shadowed} shadowed)\nonce for the unnamed: ${(once.ms / 1000).toFixed(3)} s (${once.runs} runs, ${once.shadowed} shadowed)\nratio: ${(each.ms / once.ms).toFixed(0)}x faster\n`,
    )
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}
