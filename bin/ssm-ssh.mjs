#!/usr/bin/env node
// Shim: enable the compile cache where Node has it, then run the bundle.
import module from 'node:module'

if (typeof module.enableCompileCache === 'function') module.enableCompileCache()
await import('../dist/ssm-ssh.mjs')
