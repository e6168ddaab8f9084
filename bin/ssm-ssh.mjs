#!/usr/bin/env node
// Shim: run the CLI bundle through V8's code cache (src/boot/code-cache.ts, built to dist/boot.mjs).
import { fileURLToPath } from 'node:url'
import { runBundle } from '../dist/boot.mjs'

runBundle(fileURLToPath(new URL('../dist/main.cjs', import.meta.url)))
