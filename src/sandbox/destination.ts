// What the simulated agent's port plugin connects to for a session, as the agent decides it
// (plugins/port/port.go): with no `host` it dials localhost:portNumber; with a `host` it resolves the
// name on the instance, refuses the instance-metadata and VPC resolver addresses (validateParameters),
// and then dials each resolved address in turn, keeping the first error (DialCall). Everything stays
// inside the sandbox's own table: an address is a loopback port of a simulated host, or nothing.
import { connect, isIP, type Socket } from 'node:net'
import { lookupOnInstance, loopbackOnInstance } from './hosts/index.ts'
import type { SandboxState, SimSession } from './model.ts'

/** appconfig DefaultDeniedPortForwardingRemoteIPs: IMDS, the Amazon DNS, NTP and other link-local services. */
export const DENIED_REMOTE_IPS = [
  '169.254.169.254',
  'fd00:ec2::254',
  '169.254.169.253',
  'fd00:ec2::253',
  '169.254.169.123',
  'fd00:ec2::123',
  '169.254.169.250',
  '169.254.169.251',
  'fd00:ec2::240',
]

/** The VPC's reserved addresses the agent refuses (port.go calculateAddress): the first four and the broadcast. */
export function vpcReservedAddresses(cidr: string): string[] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr)
  if (!m) return []
  const base = m.slice(1, 5).reduce((n, part) => n * 256 + Number(part), 0)
  const bits = Number(m[5])
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  const network = (base & mask) >>> 0
  const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')
  // calculateAddress counts from the address as written, not from the network address
  return [0, 1, 2, 3].map((i) => dotted((base + i) >>> 0)).concat(dotted((network | ~mask) >>> 0))
}

/** Go's net.IP.Equal: an IPv4 address equals its IPv4-mapped IPv6 form. */
function sameIp(a: string, b: string): boolean {
  const norm = (ip: string) => ip.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1')
  return isIP(a) !== 0 && isIP(b) !== 0 && norm(a) === norm(b)
}

export interface Destination {
  /** the document's `host`, or '' for the instance's own port (localhost) */
  host: string
  port: number
  /** what `host` resolved to on the instance (empty when the lookup failed: every dial then fails) */
  addresses: string[]
}

export type DestinationCheck = { ok: true; destination: Destination } | { ok: false; message: string }

/** The port plugin's start-up check: the session fails here, after the handshake, before any dial. */
export function destinationOf(state: SandboxState, session: SimSession): DestinationCheck {
  const port = session.parameters.portNumber?.[0] ?? ''
  if (port === '') return { ok: false, message: 'Port number is empty in session properties.' }
  const host = session.parameters.host?.[0] ?? ''
  const destination: Destination = { host, port: Number(port), addresses: [] }
  if (host === '') return { ok: true, destination }
  const instance = state.instances.get(session.target)
  const resolved = lookupOnInstance(instance, host)
  const denied = [...DENIED_REMOTE_IPS, ...(instance?.vpcCidr ? vpcReservedAddresses(instance.vpcCidr) : [])]
  if (resolved.some((address) => denied.some((d) => sameIp(address, d))))
    return { ok: false, message: `Forwarding to IP address ${host} is forbidden.` }
  destination.addresses = resolved
  return { ok: true, destination }
}

function hostPort(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`
}

async function dialLoopback(port: number): Promise<Socket> {
  // the agent dials with Go's net package, which sets TCP_NODELAY on every TCP connection
  const socket = connect({ host: '127.0.0.1', port, noDelay: true })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  return socket
}

/**
 * One connection to the destination (DialCall): localhost:port, or each resolved address in turn.
 * Fails with Go's dial error for the first address, or "missing address" when there was none.
 */
export async function dialDestination(
  state: SandboxState,
  instanceId: string,
  destination: Destination,
): Promise<Socket> {
  const { host, port } = destination
  const addresses = host === '' ? ['127.0.0.1'] : destination.addresses
  let first: Error | undefined
  for (const address of addresses) {
    const loopback = await loopbackOnInstance(state, instanceId, address, port)
    if (loopback !== undefined) {
      try {
        return await dialLoopback(loopback)
      } catch {
        // a host whose server is gone: refused, like any other
      }
    }
    first ??= new Error(`dial tcp ${hostPort(address, port)}: connect: connection refused`)
  }
  throw first ?? new Error('missing address')
}
