// How a port session carries bytes (session-protocol.md §8.1, §8.4): decided by the session type's
// properties from the agent's HandshakeRequest and the agent's version, exactly as the official plugin
// decides (portsession.go, muxportforwarding.go, version/versionutil.go).
//   stdio  SSH documents (no `type`): the session's Output payloads are the TCP bytes
//   mux    LocalPortForwarding with an agent > 3.0.196.0: Output carries an smux v1 stream, one smux
//          stream per TCP connection (the agent switches to it for clients ≥ 1.1.70, port.go)
//   basic  LocalPortForwarding with an older agent: raw bytes, one TCP connection at a time

export type PortMode = 'stdio' | 'mux' | 'basic'

/** The first agent version that multiplexes (the plugin needs strictly greater). */
export const MUX_AFTER_AGENT = '3.0.196.0'
/** Agents after this one no longer need smux keepalives (the plugin turns them off, config.go). */
export const SMUX_KEEPALIVE_UNTIL_AGENT = '3.1.1511.0'

/**
 * The plugin's comparison (versionutil.go): dot-separated integers, both with the same number of
 * parts, `a` strictly greater than `b`; anything else (a malformed or differently shaped version)
 * counts as not greater, so an unreadable agent version falls back to the older behaviour.
 */
export function isVersionGreater(a: string, b: string): boolean {
  const pa = a.split('.')
  const pb = b.split('.')
  if (pa.length !== pb.length || ![...pa, ...pb].every((p) => /^\d+$/.test(p))) return false
  for (let i = 0; i < pa.length; i++) {
    const d = Number(pa[i]) - Number(pb[i])
    if (d !== 0) return d > 0
  }
  return false
}

export function portSessionMode(properties: Record<string, unknown>, agentVersion: string): PortMode {
  if (properties.type !== 'LocalPortForwarding') return 'stdio'
  return isVersionGreater(agentVersion, MUX_AFTER_AGENT) ? 'mux' : 'basic'
}

/** Whether the client must send smux NOPs to keep the agent's smux session open. */
export function needsSmuxKeepalive(agentVersion: string): boolean {
  return !isVersionGreater(agentVersion, SMUX_KEEPALIVE_UNTIL_AGENT)
}
