// --transport native|plugin and --plugin PATH, as proxy takes them and config writes them.
import { UsageError } from '../support/errors.ts'

export type Transport = 'native' | 'plugin'

/** The transport the flags ask for (native by default); --plugin only goes with --transport plugin. */
export function transportFlags(
  transport: string | undefined,
  plugin: string | undefined,
): { transport: Transport; pluginPath?: string } {
  const chosen = transport ?? 'native'
  if (chosen !== 'native' && chosen !== 'plugin')
    throw new UsageError(`--transport ${chosen} is not native or plugin`, {
      hint: 'use --transport native (default) or --transport plugin',
    })
  if (plugin !== undefined && chosen !== 'plugin')
    throw new UsageError('--plugin goes with --transport plugin', {
      hint: 'add --transport plugin, or drop --plugin',
    })
  return { transport: chosen, ...(plugin !== undefined ? { pluginPath: plugin } : {}) }
}
