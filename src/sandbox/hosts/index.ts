// The simulated hosts: each instance and private host gets its home, host key and SSH server on
// first use, so a --fleet 10000 sandbox starts as fast as a fleet of ten.
import { execFile } from 'node:child_process'
import { access, mkdir, readFile, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Log } from '../../support/log.ts'
import type { SandboxState, SimInstance } from '../model.ts'
import { type RunningHost, startSshServer } from './ssh-server.ts'

export { createRunScript, type RunScript } from './run-script.ts'

const run = promisify(execFile)

export interface HostsOptions {
  authorizedKey?: string
  sshTarget?: { host: string; port: number }
  log?: Log
}

interface HostsRuntime {
  options: HostsOptions
  running: Map<string, Promise<RunningHost>>
}

const runtimes = new WeakMap<SandboxState, HostsRuntime>()

function runtimeOf(state: SandboxState): HostsRuntime {
  const rt = runtimes.get(state)
  if (!rt) throw new Error('startHosts() has not been called for this sandbox')
  return rt
}

export async function startHosts(
  state: SandboxState,
  options: HostsOptions,
): Promise<{ close(): Promise<void> }> {
  const rt: HostsRuntime = { options, running: new Map() }
  runtimes.set(state, rt)
  await mkdir(join(state.stateDir, 'hostkeys'), { recursive: true, mode: 0o700 })
  return {
    close: async () => {
      const hosts = await Promise.allSettled(rt.running.values())
      await Promise.all(hosts.map((h) => (h.status === 'fulfilled' ? h.value.close() : undefined)))
      rt.running.clear()
    },
  }
}

/** Create a host's home with .ssh (0700) and authorized_keys (0600) once. */
export async function prepareHome(state: SandboxState, home: string): Promise<void> {
  const sshDir = join(home, '.ssh')
  await mkdir(sshDir, { recursive: true, mode: 0o700 })
  const keyFile = join(sshDir, 'authorized_keys')
  try {
    await access(keyFile)
  } catch {
    const key = runtimes.get(state)?.options.authorizedKey
    await writeFile(keyFile, key ? `${key}\n` : '', { mode: 0o600 })
  }
}

async function hostKey(state: SandboxState, name: string): Promise<Buffer> {
  const file = join(state.stateDir, 'hostkeys', name.replace(/[^A-Za-z0-9.-]/g, '_'))
  try {
    return await readFile(file)
  } catch {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@sandbox`, '-f', file])
    return readFile(file)
  }
}

/** OpenSSH public host key lines of a host, as `ssh-keyscan` would print them (without the host). */
export async function hostPublicKeys(state: SandboxState, name: string): Promise<string[]> {
  await hostKey(state, name)
  const file = join(state.stateDir, 'hostkeys', `${name.replace(/[^A-Za-z0-9.-]/g, '_')}.pub`)
  const [type, blob] = (await readFile(file, 'utf8')).trim().split(/\s+/)
  return [`${type} ${blob}`]
}

function startOnce(rt: HostsRuntime, key: string, start: () => Promise<RunningHost>): Promise<number> {
  let host = rt.running.get(key)
  if (!host) {
    host = start()
    rt.running.set(key, host)
    host.catch(() => rt.running.delete(key))
  }
  return host.then((h) => h.port)
}

export async function ensureHostPort(state: SandboxState, instanceId: string): Promise<number> {
  const rt = runtimeOf(state)
  if (rt.options.sshTarget) return rt.options.sshTarget.port
  const instance = state.instances.get(instanceId)
  if (!instance) throw new Error(`no simulated instance ${instanceId}`)
  const port = await startOnce(rt, instanceId, async () => {
    await prepareHome(state, instance.home)
    return startSshServer({
      name: instanceId,
      users: instance.users,
      home: instance.home,
      hostKey: await hostKey(state, instanceId),
      now: state.now,
      // ssh -L / -W / ProxyJump from the instance, as its sshd would: the name resolved on the
      // instance, then each address in turn (getaddrinfo order), only to what it can reach
      forward: async (to, toPort) => {
        for (const address of lookupOnInstance(instance, to)) {
          const port = await loopbackOnInstance(state, instanceId, address, toPort)
          if (port !== undefined) return port
        }
        return undefined
      },
      timeZone: () => instance.timezone ?? 'UTC',
      pushedKeys: (user) => {
        // sshd asks EC2 Instance Connect only where its package set up the AuthorizedKeysCommand
        if (instance.instanceConnect === false) return []
        const now = state.now().getTime()
        return state.pushedKeys
          .filter((k) => k.instanceId === instanceId && k.osUser === user && k.expiresAt.getTime() > now)
          .map((k) => k.publicKey)
      },
      ...(rt.options.log ? { log: rt.options.log } : {}),
    })
  })
  instance.sshPort = port
  return port
}

export async function ensurePrivateHostPort(
  state: SandboxState,
  address: string,
  port: number,
): Promise<number | undefined> {
  const rt = runtimeOf(state)
  const host = state.privateHosts.get(address)
  if (!host || host.port !== port) return undefined
  if (rt.options.sshTarget) return rt.options.sshTarget.port
  const loopback = await startOnce(rt, `private:${address}`, async () => {
    await prepareHome(state, host.home)
    return startSshServer({
      name: address,
      users: host.users,
      home: host.home,
      hostKey: await hostKey(state, address),
      now: state.now,
      pushedKeys: () => [],
      // ssh -W / ProxyJump from this host: only to the addresses it can reach, inside the table.
      forward: async (to, toPort) =>
        host.forwardsTo.includes(to) ? ensurePrivateHostPort(state, to, toPort) : undefined,
      ...(rt.options.log ? { log: rt.options.log } : {}),
    })
  })
  host.sshPort = loopback
  return loopback
}

/** Name resolution on an instance (net.LookupHost, getaddrinfo): literals, localhost, its LAN's names. */
export function lookupOnInstance(instance: SimInstance | undefined, host: string): string[] {
  if (isIP(host) !== 0) return [host]
  if (host === 'localhost') return ['127.0.0.1', '::1']
  return instance?.lanNames?.[host.toLowerCase()] ?? []
}

/** The loopback port that plays `address:port` as seen from the instance, if anything listens there. */
export async function loopbackOnInstance(
  state: SandboxState,
  instanceId: string,
  address: string,
  port: number,
): Promise<number | undefined> {
  const instance = state.instances.get(instanceId)
  if (address === '127.0.0.1' || address === '::1') {
    if (port === 22) return ensureHostPort(state, instanceId)
    return instance?.extraPorts?.get(port)
  }
  if (!instance?.reachable?.includes(address)) return undefined
  return ensurePrivateHostPort(state, address, port)
}
