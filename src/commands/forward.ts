// ssm-ssh forward TARGET -L [BIND:]LPORT:HOST:RPORT …: local ports carried to a port of the instance
// (AWS-StartPortForwardingSession) or of a host it reaches (…ToRemoteHost), one Session Manager session
// per -L, as `aws ssm start-session --document-name AWS-StartPortForwardingSession…` does for one. It
// runs until Ctrl-C or SIGTERM, then ends every session.
import { isIP, type Server } from 'node:net'
import { hostname, userInfo } from 'node:os'
import { parseArgs } from 'node:util'
import type { AwsClients } from '../aws/clients.ts'
import type { Command, Context } from '../cli/command.ts'
import { SessionError, TargetError, UsageError } from '../support/errors.ts'
import { keepYoungGenerationSmall } from '../support/heap.ts'
import { CLIENT_VERSION } from '../support/version.ts'
import type { DataChannelSession } from '../transport/data-channel-session.ts'
import {
  formatHostPort as hostPort,
  type ListenSpec,
  listenAddress,
  listenLocal,
  PortForwarder,
} from '../transport/port-forwarder.ts'
import { clientsFor } from './aws-context.ts'
import { chooseTarget, explainNotConnected } from './session-target.ts'

export interface ForwardSpec {
  /** where to listen: an address and a port (0: a free one), or a Unix socket */
  listen: ListenSpec
  /** the destination as the target sees it; localhost or 127.0.0.1 is the instance itself */
  host: string
  port: number
}

export interface ForwardOptions {
  target: string
  forwards: ForwardSpec[]
  json: boolean
}

const USAGE = 'ssm-ssh forward TARGET|--pick [-L [BIND:]LPORT:HOST:RPORT]… [--socket PATH] [--json]'
const SPEC_HINT = 'write -L [BIND:]LPORT:HOST:RPORT, e.g. -L 8080:10.20.0.10:80 (LPORT 0 takes a free port)'

/** The instance's own ports go through AWS-StartPortForwardingSession, as the plugin's users write it. */
const isInstanceItself = (host: string) => host === 'localhost' || host === '127.0.0.1'

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        local: { type: 'string', short: 'L', multiple: true },
        socket: { type: 'string' },
        json: { type: 'boolean' },
        pick: { type: 'boolean' },
      },
    })
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    if (!e.code?.startsWith('ERR_PARSE_ARGS')) throw error
    // "Unknown option '--x'. To specify a positional argument …": the first sentence says it
    throw new UsageError(e.message.split(/\.\s/)[0] ?? e.message, { hint: `usage: ${USAGE}`, cause: error })
  }
}

export function parse(argv: string[]): ForwardOptions {
  const { values, positionals } = parseFlags(argv)
  // --pick: the target comes from the picker, so every positional is a port
  const [target, rportText, lportText, extra] = values.pick ? ['', ...positionals] : positionals
  if (target === undefined || (target === '' && !values.pick)) {
    throw new UsageError('forward needs a target', { hint: `usage: ${USAGE}` })
  }
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`, { hint: `usage: ${USAGE}` })
  const specs = values.local ?? []
  const socket = values.socket
  if (socket !== undefined && socket === '') {
    throw new UsageError('--socket needs a path', { hint: 'e.g. --socket /tmp/db.sock' })
  }
  if (rportText !== undefined && specs.length > 0) {
    throw new UsageError('a port argument and -L do not go together', {
      hint: 'forward TARGET RPORT [LPORT] is short for -L LPORT:localhost:RPORT: use one form',
    })
  }
  if (socket !== undefined && specs.length > 1) {
    throw new UsageError(`--socket takes a single forward, not ${specs.length} -L`, {
      hint: 'run one ssm-ssh forward per socket, or drop --socket to listen on TCP ports',
    })
  }
  let forwards: ForwardSpec[]
  if (rportText !== undefined) {
    const port = parsePort(rportText, 'RPORT', 1)
    if (lportText !== undefined && socket !== undefined) {
      throw new UsageError('LPORT and --socket do not go together', {
        hint: 'the socket replaces the local port: drop LPORT or --socket',
      })
    }
    const localPort = lportText === undefined ? 0 : parsePort(lportText, 'LPORT', 0)
    forwards = [
      {
        listen: socket !== undefined ? { path: socket } : { bind: '127.0.0.1', port: localPort },
        host: 'localhost',
        port,
      },
    ]
  } else if (specs.length > 0) {
    forwards = specs.map((spec) => parseForwardSpec(spec, socket))
  } else {
    throw new UsageError('forward needs a port: -L [BIND:]LPORT:HOST:RPORT, or RPORT after the target', {
      hint: `e.g. ssm-ssh forward ${target || '--pick'} -L 8080:localhost:80, or ssm-ssh forward ${target || '--pick'} 80 8080`,
    })
  }
  const seen = new Set<string>()
  for (const f of forwards) {
    if (!('port' in f.listen) || f.listen.port === 0) continue
    const key = `${f.listen.bind}:${f.listen.port}`
    if (seen.has(key)) {
      throw new UsageError(`two forwards listen on ${key}`, { hint: 'give each -L its own LPORT (or 0)' })
    }
    seen.add(key)
  }
  return { target, forwards, json: values.json ?? false }
}

/** One -L: [BIND:]LPORT:HOST:RPORT, addresses with colons in brackets; with --socket, HOST:RPORT. */
export function parseForwardSpec(text: string, socket?: string): ForwardSpec {
  const bad = (problem: string, hint = SPEC_HINT) => new UsageError(`-L ${text}: ${problem}`, { hint })
  const parts = splitSpec(text)
  if (parts === undefined) throw bad('an unclosed or misplaced [ ]')
  if (socket !== undefined) {
    if (parts.length !== 2) {
      throw bad(
        'with --socket, -L takes HOST:RPORT',
        'the socket replaces [BIND:]LPORT, e.g. -L localhost:5432',
      )
    }
  } else if (parts.length === 2) {
    throw bad('no local port', 'add LPORT (0 for a free one), e.g. -L 8080:localhost:80')
  } else if (parts.length !== 3 && parts.length !== 4) {
    throw bad(
      `${parts.length} fields where 3 or 4 belong`,
      `${SPEC_HINT}; write IPv6 addresses in brackets, e.g. [::1]`,
    )
  }
  const [rportText, host, lportText, bindText] = [...parts].reverse() as [string, string, string?, string?]
  const port = parsePort(rportText, 'RPORT', 1, text)
  if (!/^[A-Za-z0-9._:%-]{1,253}$/.test(host)) {
    throw bad(host === '' ? 'no HOST' : `"${host}" is not a host name or address`)
  }
  if (socket !== undefined) return { listen: { path: socket }, host, port }
  const localPort = parsePort(lportText ?? '', 'LPORT', 0, text)
  let bind = bindText ?? '127.0.0.1'
  if (bind === 'localhost') bind = '127.0.0.1'
  if (isIP(bind) === 0) {
    throw bad(
      `BIND "${bind}" is not an IP address`,
      'e.g. 127.0.0.1 (the default), or 0.0.0.0 for every interface',
    )
  }
  return { listen: { bind, port: localPort }, host, port }
}

function splitSpec(text: string): string[] | undefined {
  const parts: string[] = []
  let rest = text
  for (;;) {
    if (rest.startsWith('[')) {
      const end = rest.indexOf(']')
      if (end < 0) return undefined
      parts.push(rest.slice(1, end))
      rest = rest.slice(end + 1)
      if (rest === '') return parts
      if (!rest.startsWith(':')) return undefined
      rest = rest.slice(1)
    } else {
      const at = rest.indexOf(':')
      if (at < 0) {
        parts.push(rest)
        return parts
      }
      parts.push(rest.slice(0, at))
      rest = rest.slice(at + 1)
    }
  }
}

function parsePort(text: string, what: 'LPORT' | 'RPORT', min: 0 | 1, spec?: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN
  if (n >= min && n <= 65535) return n
  const where = spec === undefined ? '' : `-L ${spec}: `
  throw new UsageError(`${where}${what} "${text}" is not a port from ${min} to 65535`, {
    hint: spec === undefined ? `usage: ${USAGE}` : SPEC_HINT,
  })
}

export const forward: Command<ForwardOptions> = {
  name: 'forward',
  summary: 'forward local ports to an instance or to hosts it reaches',
  usage: USAGE,
  examples: [
    'ssm-ssh forward pi-gateway -L 8080:10.20.0.10:80     (a host the gateway reaches)',
    'ssm-ssh forward web-1 -L 5432:localhost:5432 -L 0:localhost:6379',
    'ssm-ssh forward web-1 5432                            (port 5432 of web-1 itself, on a free local port)',
    'ssm-ssh forward db-1 -L localhost:5432 --socket /tmp/db.sock',
    'ssm-ssh forward --pick 8080 8080                      (choose the instance in the picker)',
  ],
  parse,
  run: (options, ctx) => runForward(options, ctx),
}

interface Target {
  id: string
  /** what people call it: the name given, else the id */
  name: string
}

/** One -L at run time: its listener, and its session once started. */
interface Tunnel {
  spec: ForwardSpec
  server: Server
  /** where it listens (127.0.0.1:8080, a socket path), kept for messages after the listener closed */
  address: string
  forwarder: PortForwarder
  documentName: string
  sessionId?: string
  session?: DataChannelSession
}

async function runForward(options: ForwardOptions, ctx: Context): Promise<number> {
  const clients = clientsFor(ctx)
  const target = await resolveInstance(options.target, clients, ctx)
  const tunnels: Tunnel[] = []
  try {
    // every port first: a taken one fails before any session exists
    for (const spec of options.forwards) {
      const server = await listenLocal(spec.listen)
      const forwarder = new PortForwarder(server, {
        log: ctx.log,
        onRefused: () =>
          ctx.log.warn(`${hostPort(spec.host, spec.port)} refused the connection from ${target.name}`),
      })
      const documentName = isInstanceItself(spec.host)
        ? 'AWS-StartPortForwardingSession'
        : 'AWS-StartPortForwardingSessionToRemoteHost'
      tunnels.push({ spec, server, address: listenAddress(server), forwarder, documentName })
    }
    if (ctx.signal.aborted) return 0
    const onAbort = () => {
      for (const t of tunnels) t.session?.destroy()
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true })
    const started = await Promise.allSettled(tunnels.map((t) => openTunnel(t, target, clients, ctx)))
    ctx.signal.removeEventListener('abort', onAbort)
    if (ctx.signal.aborted) return 0
    const failed = started.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
    for (const t of tunnels) report(t, target, options.json, ctx)
    // a long-lived byte pump like proxy: dead Buffers are freed by frequent scavenges (support/heap.ts)
    keepYoungGenerationSmall()
    const ended = await untilEnd(tunnels, ctx.signal)
    if (ended === undefined) return 0
    const reason = ended.session?.closeReason
    throw new SessionError(`the session for ${describeTunnel(ended)} ended${reason ? `: ${reason}` : ''}`, {
      hint: 'start ssm-ssh forward again; -v shows each step',
    })
  } finally {
    await closeTunnels(tunnels, clients, ctx)
  }
}

/** The instance of a forward, by id and by the name the user gave. */
async function resolveInstance(query: string, clients: AwsClients, ctx: Context): Promise<Target> {
  return chooseTarget(query, clients, ctx, { prompt: 'forward through', enter: 'forward' })
}

async function openTunnel(t: Tunnel, target: Target, clients: AwsClients, ctx: Context): Promise<void> {
  const { startSession, resumeSession } = await import('../aws/sessions.ts')
  const { DataChannelSession } = await import('../transport/data-channel-session.ts')
  const { host, port, listen } = t.spec
  const parameters: Record<string, string[]> = {
    ...(isInstanceItself(host) ? {} : { host: [host] }),
    portNumber: [String(port)],
    // LPORT as given, as the plugin passes it on; a socket has none
    ...('port' in listen ? { localPortNumber: [String(listen.port)] } : {}),
  }
  ctx.log.verbose(`starting ${t.documentName} on ${target.id} for ${hostPort(host, port)}`)
  let ticket: Awaited<ReturnType<typeof startSession>>
  try {
    ticket = await startSession(clients, {
      target: target.id,
      documentName: t.documentName,
      parameters,
      reason: defaultReason(target, t.spec, ctx.env),
    })
  } catch (error) {
    throw error instanceof TargetError
      ? await explainNotConnected(error, target.id, t.documentName, clients, ctx.now())
      : error
  }
  t.sessionId = ticket.sessionId
  if (ctx.signal.aborted) return
  const session = new DataChannelSession({
    streamUrl: ticket.streamUrl,
    tokenValue: ticket.tokenValue,
    sessionId: ticket.sessionId,
    clientVersion: CLIENT_VERSION,
    resume: () => resumeSession(clients, ticket.sessionId),
    upgradeHeaders: async (url) => (await import('../aws/stream-signing.ts')).upgradeHeaders(clients, url),
    log: ctx.log,
    // one refused destination fails one connection; the others and the listener stay up
    connectToPortError: 'emit',
  })
  t.session = session
  await session.open()
  ctx.log.verbose(
    `session ${ticket.sessionId}: ${session.portMode} mode (agent ${session.agent?.version ?? 'unknown'})`,
  )
  t.forwarder.start(session)
}

/** AWS logs nothing inside a session, so say who forwarded from where to what (StartSession Reason). */
function defaultReason(target: Target, spec: ForwardSpec, env: NodeJS.ProcessEnv): string {
  let who = env.USER ?? env.LOGNAME ?? 'unknown'
  try {
    who = userInfo().username
  } catch {
    // no passwd entry (containers): keep the environment's name
  }
  const text = `ssm-ssh: ${who}@${hostname()} forward to ${hostPort(spec.host, spec.port)} via ${target.id}`
  // StartSession Reason: ^.{1,256}$ (aws-api-notes.md §2.2)
  return text.replace(/[\r\n]/g, ' ').slice(0, 256)
}

function report(t: Tunnel, target: Target, json: boolean, ctx: Context): void {
  const via = target.name === target.id ? target.id : `${target.name} (${target.id})`
  ctx.log.info(`forwarding ${describeTunnel(t)} via ${via}`)
  if (!json) return
  const line = {
    listen: t.address,
    target: target.id,
    host: t.spec.host,
    port: t.spec.port,
    sessionId: t.sessionId,
    mode: t.session?.portMode === 'mux' ? 'mux' : 'basic',
  }
  ctx.io.stdout.write(`${JSON.stringify(line)}\n`)
}

const describeTunnel = (t: Tunnel) => `${t.address} → ${hostPort(t.spec.host, t.spec.port)}`

/** Resolves on Ctrl-C/SIGTERM (undefined) or with the first tunnel whose session ended by itself. */
function untilEnd(tunnels: Tunnel[], signal: AbortSignal): Promise<Tunnel | undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(undefined)
    signal.addEventListener('abort', () => resolve(undefined), { once: true })
    for (const t of tunnels) {
      if (t.session?.state === 'closed') return resolve(t)
      t.session?.once('close', () => resolve(t))
    }
  })
}

/** Listeners closed, connections dropped, every session ended on the service (TerminateSession). */
async function closeTunnels(tunnels: Tunnel[], clients: AwsClients, ctx: Context): Promise<void> {
  const { terminateSession } = await import('../aws/sessions.ts')
  for (const t of tunnels) {
    t.forwarder.close()
    t.session?.destroy()
  }
  await Promise.all(
    tunnels.map(async (t) => {
      if (t.sessionId === undefined) return
      try {
        await terminateSession(clients, t.sessionId)
        ctx.log.verbose(`ended session ${t.sessionId}`)
      } catch (error) {
        ctx.log.debug(`TerminateSession ${t.sessionId}: ${(error as Error).message}`)
      }
    }),
  )
}
