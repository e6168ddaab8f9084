// sandbox --real N: the first N Pis of the fleet are played by AWS's own amazon-ssm-agent, each in its
// own namespaces with its own userland and sshd (real/instance.ts), reaching the sandbox's TLS side
// through a Unix socket (their network namespace has loopback only). Needs root and the agent binaries;
// without them the simulated agent keeps serving and `unavailable` says why in one line.
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import type { Log } from '../support/log.ts'
import type { AgentHub } from './mgs/hub.ts'
import type { SandboxState, SimInstance } from './model.ts'
import { type RealInstance, startRealInstance } from './real/instance.ts'

import { instanceLeftovers, reapStaleInstances } from './real/reap.ts'
import { forwardToSocket, type SshForward } from './real/ssh-forward.ts'

/** Which instances turn real first: a plain Pi, then the gateway (for hops), then the others. */
const ORDER = ['pi-kitchen', 'pi-gateway', 'pi-garage', 'pi-attic']
/** Port the agent dials inside its namespace; its forwarder carries it to the sandbox's socket. */
const SERVICE_PORT = 443
const ONLINE_TIMEOUT_MS = 60_000

export interface RealFleetOptions {
  count: number
  /** Name tags to turn real first, in place of ORDER */
  names?: string[]
  agentBinDir: string
  serviceSocket: string
  caCertFile: string
  authorizedKey?: string
  /**
   * copies of a real instance's SD card (seed 002): each another machine with the same identity (its
   * id, its role's token), its own hostname and LAN address; started after the others, so its agent
   * holds the control channel
   */
  clones?: CloneSpec[]
  /** how many Pis fresh out of the box (agent installed, not registered, not running) to add */
  unenrolled?: number
  log: Log
}

/** A Pi not managed yet: reachable by plain SSH only, at 127.0.0.1:port as `user`. */
export interface UnenrolledPi {
  /** its host name (pi-new-1 …) */
  name: string
  user: string
  host: '127.0.0.1'
  port: number
  instance: RealInstance
}

export interface CloneSpec {
  /** Name tag of the real instance whose identity it shares */
  of: string
  /** its hostname (ComputerName) */
  name: string
}

export interface RealFleet {
  instances: Map<string, RealInstance>
  /** the clones by name */
  clones: Map<string, RealInstance>
  /** sandbox --unenrolled N, by name */
  unenrolled: Map<string, UnenrolledPi>
  /** stop every instance; resolves with what is left of them, one line each (`<id>: …`), [] when clean */
  close(): Promise<string[]>
}

export function chooseRealInstances(state: SandboxState, count: number, names = ORDER): SimInstance[] {
  const byName = (name: string) => [...state.instances.values()].find((i) => i.tags.get('Name') === name)
  const chosen: SimInstance[] = []
  for (const name of names) {
    const hit = byName(name)
    if (hit && chosen.length < count) chosen.push(hit)
  }
  for (const i of state.instances.values()) {
    if (chosen.length >= count) break
    if (
      i.kind === 'hybrid' &&
      i.pingStatus === 'Online' &&
      !chosen.includes(i) &&
      i.tags.get('Name') !== 'pi-old'
    )
      chosen.push(i)
  }
  return chosen
}

export async function startRealFleet(
  state: SandboxState,
  hub: AgentHub,
  options: RealFleetOptions,
): Promise<RealFleet> {
  for (const line of await reapStaleInstances(options.log)) options.log.warn(`sandbox: ${line}`)
  const chosen = chooseRealInstances(state, options.count, options.names)
  const instances = new Map<string, RealInstance>()
  const clones = new Map<string, RealInstance>()
  const unenrolled = new Map<string, UnenrolledPi>()
  const forwards: SshForward[] = []
  const newNames = Array.from({ length: options.unenrolled ?? 0 }, (_, n) => `pi-new-${n + 1}`)
  const dirOf = (id: string) => resolve(state.stateDir, 'real', id)
  const cloneDirs = (options.clones ?? []).map((c) => dirOf(`clone-${c.name}`))
  const close = async (): Promise<string[]> => {
    await Promise.all(forwards.splice(0).map((f) => f.close()))
    const stopping = [
      ...instances.values(),
      ...clones.values(),
      ...[...unenrolled.values()].map((u) => u.instance),
    ]
    unenrolled.clear()
    const stopped = await Promise.allSettled(stopping.map((i) => i.close()))
    instances.clear()
    clones.clear()
    const leftovers = stopped.flatMap((r, n) =>
      r.status === 'rejected' ? [`${stopping[n]?.id}: ${(r.reason as Error).message.split('\n')[0]}`] : [],
    )
    // every chosen instance: one that failed to start may have left something too
    for (const id of [...chosen.map((i) => i.id), ...newNames])
      leftovers.push(...instanceLeftovers(dirOf(id)).map((line) => `${id}: ${line}`))
    for (const dir of cloneDirs) leftovers.push(...instanceLeftovers(dir).map((line) => `${dir}: ${line}`))
    return leftovers
  }
  const start = (instance: SimInstance, as: { hostname: string; dir: string; ownAddress?: string }) => {
    const lanHosts = [...state.privateHosts.values()]
      .filter((h) => h.reachableFrom === instance.id || reachesThrough(state, h.reachableFrom, instance.id))
      .map((h) => ({ address: h.address, users: h.users, forwardsTo: h.forwardsTo }))
    return startRealInstance({
      id: instance.id,
      hostname: as.hostname,
      region: state.region,
      dir: as.dir,
      serviceSocket: options.serviceSocket,
      servicePort: SERVICE_PORT,
      caCertFile: options.caCertFile,
      roleToken: instance.roleToken as string,
      users: instance.users,
      // the Pis run this machine's Debian (as Raspberry Pi OS reports itself); an EC2 instance says
      // what it is, so the agent reports its platform as AWS would (web-1: Amazon Linux 2023)
      ...(instance.kind === 'ec2'
        ? {
            osRelease: `NAME="${instance.platformName}"\nVERSION_ID="${instance.platformVersion}"\nPRETTY_NAME="${instance.platformName} ${instance.platformVersion}"\n`,
          }
        : {}),
      ...(options.authorizedKey ? { authorizedKey: options.authorizedKey } : {}),
      agentBinDir: options.agentBinDir,
      ...(lanHosts.length > 0 ? { lanHosts } : {}),
      ...(instance.lanNames ? { lanNames: instance.lanNames } : {}),
      ...(as.ownAddress ? { ownAddress: as.ownAddress } : {}),
      log: options.log,
    })
  }
  try {
    for (const instance of chosen) {
      // Until its agent reports, the node has never pinged
      instance.agent = 'real'
      instance.pingStatus = 'ConnectionLost'
      instance.agentVersion = ''
    }
    const started = chosen.map(async (instance) => {
      // startRealInstance wipes and makes the directory: an instance starts fresh, like a new SD card
      const dir = dirOf(instance.id)
      instance.roleToken = randomBytes(24).toString('base64url')
      const real = await start(instance, { hostname: instance.tags.get('Name') ?? instance.id, dir })
      instances.set(instance.id, real)
      await withTimeout(
        hub.waitOnline(instance.id),
        ONLINE_TIMEOUT_MS,
        async () =>
          `the agent of ${instance.id} did not come Online within ${ONLINE_TIMEOUT_MS / 1000} s; its log ends:\n${(await real.agentLog()).split('\n').slice(-15).join('\n')}`,
      )
    })
    const fresh = newNames.map(async (name) => {
      const dir = dirOf(name)
      const real = await startRealInstance({
        id: name,
        hostname: name,
        region: state.region,
        dir,
        serviceSocket: options.serviceSocket,
        servicePort: SERVICE_PORT,
        caCertFile: options.caCertFile,
        // unused until it registers: then its agent signs with its own key
        roleToken: randomBytes(24).toString('base64url'),
        users: ['pi'],
        ...(options.authorizedKey ? { authorizedKey: options.authorizedKey } : {}),
        agentBinDir: options.agentBinDir,
        unenrolled: true,
        log: options.log,
      })
      const forward = await forwardToSocket(resolve(dir, 'ssh.sock'))
      forwards.push(forward)
      unenrolled.set(name, { name, user: 'pi', host: '127.0.0.1', port: forward.port, instance: real })
    })
    const results = await Promise.allSettled([...started, ...fresh])
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
    for (const [n, clone] of (options.clones ?? []).entries()) {
      const of = chosen.find((i) => i.tags.get('Name') === clone.of)
      if (!of) throw new Error(`clone ${clone.name}: ${clone.of} is not a real instance`)
      const real = await start(of, {
        hostname: clone.name,
        dir: cloneDirs[n] as string,
        ownAddress: `192.168.1.${201 + n}`,
      })
      clones.set(clone.name, real)
      // a copied card carries the original's host key: the copy's sshd takes it (SIGHUP re-reads it)
      const original = instances.get(of.id)
      if (original) await copyHostKey(original, real)
      // Online again once the copy has reported itself (its ComputerName) and holds the channel
      await withTimeout(
        waitFor(() => of.computerName === clone.name && hub.isConnected(of.id)),
        ONLINE_TIMEOUT_MS,
        async () =>
          `the clone ${clone.name} of ${of.id} did not report within ${ONLINE_TIMEOUT_MS / 1000} s; its log ends:\n${(await real.agentLog()).split('\n').slice(-15).join('\n')}`,
      )
    }
  } catch (error) {
    for (const line of await close()) options.log.warn(`sandbox: could not clean ${line}`)
    throw error
  }
  return { instances, clones, unenrolled, close }
}

const HOST_KEY = '/etc/ssh/ssh_host_ed25519_key'

async function copyHostKey(from: RealInstance, to: RealInstance): Promise<void> {
  for (const file of [HOST_KEY, `${HOST_KEY}.pub`]) {
    const read = await from.exec(['cat', file])
    if (read.exitCode !== 0) throw new Error(`cannot read ${file} of ${from.id}: ${read.stderr}`)
    const write = await to.exec(['/bin/sh', '-c', `cat >${file}`], { input: read.stdout })
    if (write.exitCode !== 0) throw new Error(`cannot write ${file} of the clone: ${write.stderr}`)
  }
  const hup = await to.exec(['/bin/sh', '-c', 'pkill -HUP -x sshd'])
  if (hup.exitCode !== 0) throw new Error(`the clone's sshd did not take the copied host key: ${hup.stderr}`)
}

/** Polls until ready() or the timeout (withTimeout says why it failed). */
async function waitFor(ready: () => boolean): Promise<void> {
  const deadline = Date.now() + ONLINE_TIMEOUT_MS + 1000
  while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
}

/** A private host behind another private host that this instance reaches (10.30.0.5 via 10.20.0.11). */
function reachesThrough(state: SandboxState, from: string, instanceId: string): boolean {
  const via = state.privateHosts.get(from)
  return (
    via !== undefined &&
    (via.reachableFrom === instanceId || reachesThrough(state, via.reachableFrom, instanceId))
  )
}

async function withTimeout(
  promise: Promise<void>,
  ms: number,
  message: () => Promise<string>,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      message().then(
        (text) => reject(new Error(text)),
        () => reject(new Error('timed out')),
      )
    }, ms)
  })
  try {
    await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
