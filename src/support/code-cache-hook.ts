// The meeting point of the boot loader (src/boot/code-cache.ts), which owns the V8 code cache, and the
// bundle it runs: the bundle asks for the cache to be written now, before it changes a V8 flag. V8
// stamps a code cache with the flags in force and refuses it under others, so a cache written after
// the change would be refused by every later start. Two copies of this module exist at run time (one
// in each bundle); the registry symbol is what they share.

const KEY = Symbol.for('ssm-ssh.save-code-cache')
type Slot = Record<symbol, (() => void) | undefined>

/** The loader: how to write this run's code cache (it knows whether one is needed). */
export function offerCodeCacheSaver(save: () => void): void {
  ;(globalThis as unknown as Slot)[KEY] = save
}

/** The bundle: write the code cache now if the loader wants one; nothing when run from source. */
export function saveCodeCacheNow(): void {
  ;(globalThis as unknown as Slot)[KEY]?.()
}
