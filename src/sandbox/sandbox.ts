// The sandbox: a local stand-in for AWS Systems Manager on 127.0.0.1 — the SSM / EC2 Instance
// Connect / EC2 APIs, the session data channel, and a simulated fleet whose hosts run real SSH
// servers. One HTTP port serves the APIs and the websocket upgrades, as one endpoint URL.
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { type AddressInfo, connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UsageError } from '../support/errors.ts'
import { type Log, silentLog } from '../support/log.ts'
import { createApiHandler } from './api/index.ts'
import { attachDataChannel } from './data-channel/index.ts'
import { createRandom, type Faults, noFaults } from './faults.ts'
import { generateFleet } from './fleet.ts'
import { createRunScript, ensureHostPort, ensurePrivateHostPort, startHosts } from './hosts/index.ts'
import type { SandboxState, SimSession } from './model.ts'
import { createState } from './state.ts'

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
}

export interface Sandbox {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  state: SandboxState
  /** environment for a child process (AWS SDK, the official plugin) to use this sandbox */
  env: Record<string, string>
  close(): Promise<void>
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const log = options.log ?? silentLog
  const seed = options.seed ?? 1
  const region = options.region ?? 'eu-west-1'
  const ownStateDir = options.stateDir === undefined
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'ssm-ssh-sandbox-')))
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
  })
  const faults = options.faults ?? noFaults
  const hosts = await startHosts(state, {
    ...(authorizedKey ? { authorizedKey } : {}),
    ...(options.sshTarget ? { sshTarget: options.sshTarget } : {}),
    log,
  })
  const server: Server = createServer()
  let endpoint = ''
  const api = createApiHandler(state, {
    faults,
    latencyMs: options.latencyMs ?? 0,
    random,
    publicEndpoint: () => endpoint,
    runScript: createRunScript(state),
  })
  server.on('request', api)
  const channel = attachDataChannel(server, state, {
    faults,
    random,
    pace: options.pace ?? true,
    dialTarget: async (session) => dialSessionTarget(state, session),
    log,
  })
  // Keep-alive sockets from SDK clients must not hold close() open.
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new UsageError(`port ${options.port} is already in use`, {
              hint: 'pass --port 0 to pick a free port',
            })
          : error,
      ),
    )
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  log.verbose(`sandbox listening on ${endpoint} with ${state.instances.size} instances`)
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
    close: async () => {
      await channel.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await hosts.close()
      if (ownStateDir) await rm(stateDir, { recursive: true, force: true })
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

/** The TCP connection a session's document asks for, inside the sandbox's own table only. */
async function dialSessionTarget(state: SandboxState, session: SimSession): Promise<Socket> {
  const port = Number(session.parameters.portNumber?.[0] ?? '22')
  let loopbackPort: number | undefined
  if (session.documentName === 'AWS-StartPortForwardingSessionToRemoteHost') {
    const host = session.parameters.host?.[0] ?? ''
    const instance = state.instances.get(session.target)
    loopbackPort = instance?.reachable?.includes(host)
      ? await ensurePrivateHostPort(state, host, port)
      : undefined
    if (loopbackPort === undefined) {
      throw new Error(
        `Unable to start port forwarding to ${host}:${port}: dial tcp ${host}:${port}: connect: connection refused`,
      )
    }
  } else {
    if (port !== 22) {
      const mapped = state.instances.get(session.target)?.extraPorts?.get(port)
      if (mapped === undefined)
        throw new Error(
          `Unable to connect to specified port: dial tcp 127.0.0.1:${port}: connect: connection refused`,
        )
      loopbackPort = mapped
    } else {
      loopbackPort = await ensureHostPort(state, session.target)
    }
  }
  // the agent dials with Go's net package, which sets TCP_NODELAY on every TCP connection
  const socket = connect({ host: '127.0.0.1', port: loopbackPort, noDelay: true })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  return socket
}
