// Replaced at build time by esbuild's --define; the fallback serves tests run from source.
declare const __SSM_SSH_VERSION__: string | undefined
export const VERSION: string = typeof __SSM_SSH_VERSION__ === 'string' ? __SSM_SSH_VERSION__ : '0.0.0-dev'

/** What we announce to the service as ClientVersion: it must be at least 1.2.764.0 (session-protocol.md §1.2). */
export const CLIENT_VERSION = '1.2.764.0'
