// The sandbox: a local stand-in for AWS Systems Manager on 127.0.0.1 — the SSM / EC2 Instance
// Connect / EC2 APIs, the session data channel, and a simulated fleet whose hosts run real SSH
// servers. One HTTP port serves the APIs and the websocket upgrades, as one endpoint URL.

import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { UsageError } from '../support/errors.ts'
import { type Log, silentLog } from '../support/log.ts'
import { agentPackages } from './agent-package.ts'
import { createApiHandler } from './api/index.ts'
import { revokeInstanceCredentials } from './api/ssm-registration.ts'
import { attachDataChannel } from './data-channel/index.ts'
import { destinationOf, dialDestination } from './destination.ts'
import { createRandom, type Faults, noFaults } from './faults.ts'
import { generateFleet } from './fleet.ts'
import { createRunScript, startHosts } from './hosts/index.ts'
import { useCallerPolicy } from './iam/caller-policy.ts'
import { createDualListener, createTlsServer, type DualListener } from './listener.ts'
import { AgentHub } from './mgs/hub.ts'
import type { SandboxState } from './model.ts'
import { defaultAgentBinDir, realInstancesUnavailable } from './real/prerequisites.ts'
import { type RealFleet, startRealFleet } from './real-fleet.ts'
import { createState } from './state.ts'
import { ensureTlsMaterial } from './tls.ts'

export interface SandboxOptions {
  port?: number
  fleet?: number
  seed?: number
  latencyMs?: number
  faults?: Faults
  /** pace outgoing data like the agent (≤1024-byte payloads ~1 ms apart); default true */
  pace?: boolean
  /** directory for homes and host keys; a temp dir (removed on close) when absent */
  stateDir?: string
  /** public key file installed in every host's authorized_keys */
  authorizedKeyFile?: string
  /** route every instance's SSH port to one real server instead of the built-in ones */
  sshTarget?: { host: string; port: number }
  region?: string
  log?: Log
  /** how many instances AWS's own amazon-ssm-agent plays (root, Linux and the agent binaries needed) */
  real?: number
  /** which instances (Name tags) turn real, in place of the Pis first (e.g. ['web-1'], an EC2 one) */
  realNames?: string[]
  /**
   * real instances whose SD card was copied (seed 002): each clone is one more real machine with the
   * identity (the mi- id) of the real instance named `of`, hostname `name`; it starts last, so the
   * service hands it the instance's control channel
   */
  clones?: Array<{ of: string; name: string }>
  /** where the agent binaries are (default: ../shared/tools/amazon-ssm-agent/bin of the checkout) */
  agentBinDir?: string
  /**
   * Serve clients over TLS too (https://, wss:// StreamUrls), with a CA of its own (`caCertFile`):
   * for clients that must reach it as they reach AWS, through an HTTPS proxy for instance.
   */
  clientTls?: boolean
  /**
   * Pis fresh out of the box, with real userlands (root and the agent binaries needed): sshd reachable
   * from this machine, the agent installed but not registered and not running (`ssm-ssh enroll`)
   */
  unenrolled?: number
  /**
   * how long the credentials of RequestManagedInstanceRoleToken last (default 3600 s): a registered
   * agent renews them at half of it, so a short one makes its rotations come quickly
   */
  roleTokenTtlSeconds?: number
  /** the simulated agents' smux keepalive timing where their version uses it (default xtaci's 10 s / 30 s) */
  smuxKeepalive?: { intervalMs: number; timeoutMs: number }
  /**
   * The caller's identity-based IAM policy (JSON text or object): every call the caller signs is
   * authorised against it; without one the caller may do everything. Replace it on a running
   * sandbox with useCallerPolicy(state, …).
   */
  iamPolicy?: string | object
  /**
   * the account's /ssm/managed-instance/activation-tier (GetServiceSetting); default advanced, which
   * Session Manager needs for mi- nodes
   */
  activationTier?: 'standard' | 'advanced'
}

export interface Sandbox {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  state: SandboxState
  /** environment for a child process (AWS SDK, the official plugin) to use this sandbox */
  env: Record<string, string>
  /** the real instances by id (sandbox --real), to look inside them */
  real: RealFleet['instances']
  /** the clones of real instances, by name (options.clones) */
  realClones: RealFleet['clones']
  /** the unenrolled Pis by name (sandbox --unenrolled), each with the 127.0.0.1 port of its sshd */
  unenrolled: RealFleet['unenrolled']
  /**
   * Revoke every key pair handed to a registered node: the keys in its /root/.aws/credentials stop
   * working at once and its agent's next rotation (at half the token's life) brings new ones.
   * Resolves with how many were revoked.
   */
  revokeNodeCredentials(instanceId: string): number
  /** why real instances were asked for but could not run (the simulated agent serves instead) */
  realUnavailable?: string
  /** with clientTls: the https:// endpoint and the CA (PEM file) its certificate chains to */
  https?: { endpoint: string; caCertFile: string }
  /** stop everything; resolves with what could not be cleaned (a process or mount of a real instance) */
  close(): Promise<string[]>
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const log = options.log ?? silentLog
  const seed = options.seed ?? 1
  const region = options.region ?? 'eu-west-1'
  const ownStateDir = options.stateDir === undefined
  // absolute: real instances get paths inside it (their socket, their root) from outside this cwd
  const stateDir = resolve(options.stateDir ?? (await mkdtemp(join(tmpdir(), 'ssm-ssh-sandbox-'))))
  await mkdir(stateDir, { recursive: true, mode: 0o700 })
  let authorizedKey: string | undefined
  if (options.authorizedKeyFile) {
    authorizedKey = await readPublicKey(options.authorizedKeyFile)
  }
  const random = createRandom(seed)
  const now = new Date()
  const fleet = generateFleet({ size: options.fleet ?? 12, seed, stateDir, now })
  const state = createState({
    region,
    accountId: '123456789012',
    accessKeyId: `AKIASANDBOX${randomBytes(5).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
    stateDir,
    fleet,
    ...(options.activationTier ? { activationTier: options.activationTier } : {}),
  })
  if (options.iamPolicy !== undefined) useCallerPolicy(state, options.iamPolicy)
  const faults = options.faults ?? noFaults
  const hosts = await startHosts(state, {
    ...(authorizedKey ? { authorizedKey } : {}),
    ...(options.sshTarget ? { sshTarget: options.sshTarget } : {}),
    log,
  })
  const agentBinDir = options.agentBinDir ?? defaultAgentBinDir()
  const wantReal = options.real ?? 0
  const wantUnenrolled = options.unenrolled ?? 0
  const realUnavailable = wantReal + wantUnenrolled > 0 ? realInstancesUnavailable(agentBinDir) : undefined
  if (realUnavailable) log.warn(`sandbox: ${realUnavailable}; the simulated agent plays every instance`)
  const useReal = wantReal + wantUnenrolled > 0 && !realUnavailable
  const tls = useReal || options.clientTls ? await ensureTlsMaterial(stateDir) : undefined
  const server: Server = createHttpServer()
  const closing = new AbortController()
  let endpoint = ''
  const hub = new AgentHub(state, { faults, random, idleTimeoutMs: 20 * 60_000, log })
  const simulatedRunScript = createRunScript(state)
  const api = createApiHandler(state, {
    ...(useReal ? { agentPackages: agentPackages({ binDir: agentBinDir, stateDir }) } : {}),
    faults,
    latencyMs: options.latencyMs ?? 0,
    random,
    // StreamUrls: wss:// where clients speak TLS to us, as the real ones are
    publicEndpoint: () => (options.clientTls ? endpoint.replace(/^http:/, 'https:') : endpoint),
    runScript: async (instanceId, script, opts) => {
      if (state.instances.get(instanceId)?.agent !== 'real')
        return simulatedRunScript(instanceId, script, opts)
      return hub.runCommand(
        instanceId,
        opts.commandId ?? '',
        opts.parameters ?? {},
        opts.timeoutSeconds,
        opts.signal,
      )
    },
    agents: {
      handleRest: (req, res, body) => hub.handleRest(req, res, body),
      onPing: (id) => hub.notifyOnline(id),
      startSession: (session) => {
        if (state.instances.get(session.target)?.agent === 'real') return hub.startSession(session)
        channel.open(session)
        return true
      },
      disconnect: (id) => hub.disconnect(id),
      connected: (id) => hub.isConnected(id),
    },
    closing: closing.signal,
    roleTokenTtlMs: () => (options.roleTokenTtlSeconds ?? 3600) * 1000,
  })
  // The port takes plain HTTP from clients and, with real instances, TLS from agents (first byte 0x16);
  // the agents' forwarders dial a Unix socket in the state directory.
  const tlsServer: HttpsServer | undefined = tls ? createTlsServer(tls) : undefined
  const listener: DualListener = createDualListener(server, tlsServer)
  const servers: Array<Server | HttpsServer> = [server, ...(tlsServer ? [tlsServer] : [])]
  for (const s of servers) s.on('request', api)
  const channel = attachDataChannel(servers, state, {
    faults,
    random,
    pace: options.pace ?? true,
    ...(options.smuxKeepalive ? { smuxKeepalive: options.smuxKeepalive } : {}),
    portPlugin: (session) => {
      const check = destinationOf(state, session)
      return check.ok ? { dial: () => dialDestination(state, session.target, check.destination) } : check
    },
    log,
    hub,
  })
  // Keep-alive sockets from SDK clients must not hold close() open.
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    listener.net.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new UsageError(`port ${options.port} is already in use`, {
              hint: 'pass --port 0 to pick a free port',
            })
          : error,
      ),
    )
    listener.net.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  endpoint = `http://127.0.0.1:${(listener.net.address() as AddressInfo).port}`
  log.verbose(`sandbox listening on ${endpoint} with ${state.instances.size} instances`)
  let realFleet: RealFleet | undefined
  let socketListener: DualListener | undefined
  const shutdown = async (): Promise<string[]> => {
    closing.abort()
    // the agents first, so they do not reconnect to a hub that is going
    const leftovers = (await realFleet?.close()) ?? []
    hub.close()
    await channel.close()
    await socketListener?.close()
    await listener.close()
    server.closeAllConnections()
    tlsServer?.closeAllConnections()
    await hosts.close()
    return leftovers
  }
  if (useReal && tls && tlsServer) {
    try {
      const serviceSocket = join(stateDir, 'mgs.sock')
      await rm(serviceSocket, { force: true })
      socketListener = createDualListener(server, tlsServer)
      await new Promise<void>((resolve, reject) => {
        socketListener?.net.once('error', reject)
        socketListener?.net.listen(serviceSocket, () => resolve())
      })
      realFleet = await startRealFleet(state, hub, {
        count: wantReal,
        ...(options.realNames ? { names: options.realNames } : {}),
        ...(options.clones ? { clones: options.clones } : {}),
        agentBinDir,
        serviceSocket,
        caCertFile: tls.caCertFile,
        ...(authorizedKey ? { authorizedKey } : {}),
        unenrolled: wantUnenrolled,
        log,
      })
      log.verbose(`sandbox: ${realFleet.instances.size} real instances Online`)
    } catch (error) {
      await shutdown()
      throw error
    }
  }
  return {
    endpoint,
    region,
    accessKeyId: state.accessKeyId,
    secretAccessKey: state.secretAccessKey,
    state,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: state.accessKeyId,
      AWS_SECRET_ACCESS_KEY: state.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    real: realFleet?.instances ?? new Map(),
    realClones: realFleet?.clones ?? new Map(),
    unenrolled: realFleet?.unenrolled ?? new Map(),
    revokeNodeCredentials: (id) => revokeInstanceCredentials(state, id),
    ...(realUnavailable ? { realUnavailable } : {}),
    ...(options.clientTls && tls
      ? { https: { endpoint: endpoint.replace(/^http:/, 'https:'), caCertFile: tls.caCertFile } }
      : {}),
    close: async () => {
      const leftovers = await shutdown()
      if (ownStateDir) {
        await rm(stateDir, { recursive: true, force: true }).catch((error: Error) => {
          leftovers.push(`${stateDir}: ${error.message}`)
        })
      }
      return leftovers
    },
  }
}

async function readPublicKey(file: string): Promise<string> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read --authorized-key ${file}`, {
      hint: 'pass a public key file (.pub)',
      cause: error,
    })
  }
  const line = text.trim()
  if (
    !/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+( .*)?$/.test(line) ||
    line.includes('\n')
  ) {
    throw new UsageError(`--authorized-key ${file} is not a single OpenSSH public key line`, {
      hint: 'pass the .pub file, e.g. ~/.ssh/id_ed25519.pub',
    })
  }
  return line
}
