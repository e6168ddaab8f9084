// The meeting point of the boot loader (src/boot/code-cache.ts), which owns the V8 code cache, and the
// bundle it runs: the bundle asks for the cache to be written now, before it changes a V8 flag. V8
// stamps a code cache with the flags in force and refuses it under others, so a cache written after
// the change would be refused by every later start. Two copies of this module exist at run time (one
// in each bundle); the registry symbol is what they share.

const KEY = Symbol.for('ssm-ssh.save-code-cache')
const STATE = Symbol.for('ssm-ssh.code-cache-state')
type Slot = Record<symbol, unknown>

/** The loader: how to write this run's code cache (it knows whether one is needed), and how it went. */
export function offerCodeCacheSaver(save: () => void, state?: string): void {
  ;(globalThis as unknown as Slot)[KEY] = save
  ;(globalThis as unknown as Slot)[STATE] = state
}

/** For --debug: hit, miss, rejected or off; 'none' when run from source. */
export function codeCacheState(): string {
  const state = (globalThis as unknown as Slot)[STATE]
  return typeof state === 'string' ? state : 'none'
}

/** The bundle: write the code cache now if the loader wants one; nothing when run from source. */
export function saveCodeCacheNow(): void {
  const save = (globalThis as unknown as Slot)[KEY]
  if (typeof save === 'function') save()
}
