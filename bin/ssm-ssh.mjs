#!/usr/bin/env node
// Shim: run the CLI bundle through V8's code cache (src/boot/code-cache.ts, built to dist/boot.mjs).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const boot = new URL('../dist/boot.mjs', import.meta.url)
if (!existsSync(fileURLToPath(boot))) {
  const root = fileURLToPath(new URL('..', import.meta.url))
  process.stderr.write(
    `ssm-ssh: this checkout is not built (no dist/)\n  hint: run npm install (or npm run build) in ${root}\n`,
  )
  process.exit(2)
}
const { runBundle } = await import(boot.href)
runBundle(fileURLToPath(new URL('../dist/main.cjs', import.meta.url)))
