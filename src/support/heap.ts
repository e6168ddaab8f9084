// V8 heap tuning for a long-lived byte pump (proxy).
import { saveCodeCacheNow } from './code-cache-hook.ts'

/**
 * Keep V8's young generation at its starting size. A proxy's garbage is mostly Buffers whose memory
 * lives outside the JS heap; with the young generation free to grow to 16 MB semi-spaces, a 32 MiB
 * transfer collected garbage so rarely that dead Buffers held ~20 MB (peak RSS 97 MB). At the starting
 * size a scavenge runs every few hundred KB of traffic and frees them (peak RSS 63 MB, CPU +3 %).
 * The growth factor is read each time V8 considers growing the space, so it holds when set at run
 * time; the startup-only --max-semi-space-size would need a node flag on every ProxyCommand line.
 * Call it once the session is up: start-up itself is faster with room to grow, and node:v8 loads off
 * the connection's critical path.
 */
export function keepYoungGenerationSmall(): void {
  import('node:v8').then(
    (v8) => {
      // V8 stamps a code cache with its flags: the first run writes its cache before the change.
      saveCodeCacheNow()
      v8.setFlagsFromString('--semi-space-growth-factor=1')
    },
    () => {},
  )
}
