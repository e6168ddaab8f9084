// What a real instance is made from, and the checks that keep each value fit for the shell variable,
// mount option or config line it ends up in.
import { existsSync } from 'node:fs'
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import type { Log } from '../../support/log.ts'
import type { LanHost } from './sshd-config.ts'

export interface RealInstanceSpec {
  /** 'mi-0123456789abcdef0' or 'i-…' */
  id: string
  /** UTS hostname inside, e.g. 'pi-kitchen' */
  hostname: string
  region: string
  /** per-instance state dir: wiped and recreated (0700) at start, kept after close for its logs */
  dir: string
  /** absolute path of the Unix socket where the sandbox serves HTTPS for the agent */
  serviceSocket: string
  /** the agent dials 127.0.0.1:servicePort inside its network namespace; forwarded to serviceSocket */
  servicePort: number
  /** PEM of the CA that signed the sandbox's 127.0.0.1 certificate */
  caCertFile: string
  /**
   * the agent's bearer token for the instance role's credentials endpoint on the sandbox
   * (https://127.0.0.1:servicePort/v2/credentials/<id>): its credential chain ends there, as on EC2 it
   * ends at instance metadata; no long-lived key is put on the instance
   */
  roleToken: string
  /** OS users; the first owns the machine (sudo without password, as on Raspberry Pi OS) */
  users: string[]
  /** one OpenSSH public key line for every user's ~/.ssh/authorized_keys */
  authorizedKey?: string
  agentBinDir: string
  /**
   * the instance's /etc/os-release, where its platform differs from this machine's (an Amazon Linux
   * EC2 instance): the agent reports NAME and VERSION_ID from it as PlatformName/PlatformVersion
   */
  osRelease?: string
  /** private hosts reachable only from this instance, each with its own sshd on its address */
  lanHosts?: LanHost[]
  /** an address of its own beside loopback (its LAN address, which the agent reports as IPAddress) */
  ownAddress?: string
  /** names the instance resolves through its /etc/hosts: name → addresses, in the order they resolve */
  lanNames?: Record<string, string[]>
  /**
   * a Pi fresh out of the box: the agent installed (config and /etc/init.d script) but not registered
   * and not started; its agent registers itself (OnPrem identity, credentials shared in
   * /root/.aws/credentials) once `enroll` runs. Its sshd answers on DIR/ssh.sock. `id` is then a name.
   */
  unenrolled?: boolean
  log?: Log
}

const NAME = /^[a-z_][a-z0-9_-]{0,31}$/
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/
// The paths go into mount and socat options, where ',' and ':' are separators.
const PLAIN_PATH = /^\/[\w./-]*$/

/** Everything that ends up in a shell variable, a mount option or a config line, checked first. */
export function specProblem(spec: RealInstanceSpec): string | undefined {
  const idPattern = spec.unenrolled ? /^[a-z][a-z0-9-]{0,62}$/ : /^(mi-[0-9a-f]{17}|i-[0-9a-f]{8,17})$/
  if (!idPattern.test(spec.id)) return `"${spec.id}" is not an instance id`
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(spec.hostname)) return `bad hostname "${spec.hostname}"`
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(spec.region)) return `bad region "${spec.region}"`
  if (!PLAIN_PATH.test(resolve(spec.dir))) return `dir ${spec.dir} must be a plain path (no ',', ':', spaces)`
  if (!PLAIN_PATH.test(spec.serviceSocket)) return `serviceSocket ${spec.serviceSocket} must be a plain path`
  // sockaddr_un.sun_path is 108 bytes with its NUL
  if (Buffer.byteLength(spec.serviceSocket) > 107) return `serviceSocket ${spec.serviceSocket} is too long`
  if (!Number.isInteger(spec.servicePort) || spec.servicePort < 1 || spec.servicePort > 65535) {
    return `bad servicePort ${spec.servicePort}`
  }
  if (spec.servicePort === 22) return 'servicePort 22 is sshd’s'
  if (!existsSync(spec.caCertFile)) return `no CA certificate at ${spec.caCertFile}`
  if (spec.users.length === 0) return 'an instance needs at least one user'
  const lanHosts = spec.lanHosts ?? []
  const users = [...spec.users, ...lanHosts.flatMap((h) => h.users)]
  const badUser = users.find((u) => !NAME.test(u) || u === 'root')
  if (badUser !== undefined) return `bad user name "${badUser}"`
  const addresses = [
    ...lanHosts.flatMap((h) => [h.address, ...h.forwardsTo]),
    ...(spec.ownAddress !== undefined ? [spec.ownAddress] : []),
  ]
  const badAddress = addresses.find((a) => !IPV4.test(a) || a.startsWith('127.'))
  if (badAddress !== undefined) return `LAN host address ${badAddress} is not an IPv4 address off loopback`
  const twice = lanHosts.find((h, i) => lanHosts.findIndex((o) => o.address === h.address) !== i)
  if (twice !== undefined) return `LAN host ${twice.address} is listed twice`
  if (lanHosts.some((h) => h.users.length === 0)) return 'every LAN host needs a user'
  for (const [name, list] of Object.entries(spec.lanNames ?? {})) {
    if (!/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/i.test(name)) return `bad LAN name "${name}"`
    const bad = list.find((a) => isIP(a) === 0)
    if (bad !== undefined) return `LAN name ${name}: "${bad}" is not an IP address`
  }
  if (spec.authorizedKey?.includes('\n')) return 'authorizedKey must be one line'
  if (spec.osRelease?.includes('\0')) return 'osRelease must be text'
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(spec.roleToken)) return 'roleToken must be 16-128 URL-safe characters'
  return undefined
}
