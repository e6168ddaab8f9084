// npm run bench: bundle the benchmarks (they drive the sandbox in-process) and run them. Figures are
// printed side by side in one run; speed targets live here, never in timed unit tests.
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
const out = join(root, 'dist', 'bench.mjs')
execFileSync(
  join(root, 'node_modules', '.bin', 'esbuild'),
  [
    'bench/index.ts',
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--target=node20',
    '--external:ssh2',
    `--outfile=${out}`,
    '--log-level=warning',
    "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  ],
  { cwd: root, stdio: 'inherit' },
)
const { runAll } = await import(out)
await runAll(process.argv.slice(2))
