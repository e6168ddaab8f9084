// ssm-ssh proxy <target> [port]: the OpenSSH ProxyCommand. stdout carries SSH bytes and nothing
// else; every word for people goes to stderr (or --log-file). This is the hot path: it loads only the
// SSM client, the transport and the resolver, never the picker, ssh-config or the sandbox.
import { hostname, userInfo } from 'node:os'
import { parseArgs } from 'node:util'
import type { AwsClients } from '../aws/clients.ts'
import type { Command, Context } from '../cli/command.ts'
import { abortable } from '../support/abortable.ts'
import { codeCacheState } from '../support/code-cache-hook.ts'
import { CancelledError, SessionError, TargetError, UsageError } from '../support/errors.ts'
import { keepYoungGenerationSmall } from '../support/heap.ts'
import { CLIENT_VERSION } from '../support/version.ts'
import { clientsFor } from './aws-context.ts'
import { explainNotConnected, resolveId } from './session-target.ts'
import { type Transport, transportFlags } from './transport-flags.ts'

export interface ProxyOptions {
  target: string
  port: number
  transport: Transport
  /** a managed jump instance: forward to target:port as seen from it (AWS-StartPortForwardingSessionToRemoteHost) */
  via?: string
  reason?: string
  pluginPath?: string
  /** seconds to wait for the agent's handshake */
  handshakeTimeout: number
  /** push ssm-ssh's own key for this user first (ProxyCommand … --push-key --user %r %h %p) */
  pushKeyUser?: string
  /** where the pinned host keys go (ssm-ssh/known_hosts below it) */
  sshDir?: string
}

export function parse(argv: string[]): ProxyOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      transport: { type: 'string' },
      via: { type: 'string' },
      reason: { type: 'string' },
      plugin: { type: 'string' },
      'handshake-timeout': { type: 'string' },
      'push-key': { type: 'boolean' },
      user: { type: 'string' },
      'ssh-dir': { type: 'string' },
      'strip-suffix': { type: 'string' },
    },
  })
  const [named, portText, extra] = positionals
  // the connect-time stanza (Host *.ssm): ssh hands us pi-kitchen.ssm, the name is pi-kitchen
  const suffix = values['strip-suffix']
  const target =
    suffix && named?.endsWith(suffix) && named.length > suffix.length ? named.slice(0, -suffix.length) : named
  if (target === undefined || target === '') {
    throw new UsageError('proxy needs a target', { hint: 'ProxyCommand ssm-ssh proxy %h %p' })
  }
  if (extra !== undefined)
    throw new UsageError(`unexpected argument "${extra}"`, { hint: 'usage: ssm-ssh proxy <target> [port]' })
  const port = portText === undefined ? 22 : Number(portText)
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`port "${portText}" is not a number from 1 to 65535`, {
      hint: 'ProxyCommand ssm-ssh proxy %h %p',
    })
  }
  const { transport } = transportFlags(values.transport, values.plugin)
  if (
    values.reason !== undefined &&
    (values.reason.length < 1 || values.reason.length > 256 || /[\r\n]/.test(values.reason))
  ) {
    throw new UsageError('--reason must be one line of 1 to 256 characters', { hint: 'shorten the reason' })
  }
  const handshakeTimeout = Number(values['handshake-timeout'] ?? '15')
  if (!Number.isFinite(handshakeTimeout) || handshakeTimeout <= 0 || handshakeTimeout > 300) {
    throw new UsageError(
      `--handshake-timeout ${values['handshake-timeout']} is not a number of seconds from 0 to 300`,
      { hint: 'e.g. --handshake-timeout 15' },
    )
  }
  if (values['push-key'] && (values.user === undefined || !/^[a-z_][a-z0-9_-]{0,31}$/.test(values.user))) {
    throw new UsageError('--push-key needs --user with a login name', {
      hint: 'ProxyCommand ssm-ssh proxy --push-key --user %r %h %p',
    })
  }
  if (transport === 'plugin' && values.via !== undefined) {
    // for a port-forwarding document the plugin opens a local port and never reads stdin: ssh would hang
    throw new UsageError('--transport plugin cannot carry --via', {
      hint: 'the official plugin forwards port-forwarding sessions to a local port, not stdio: use the native transport',
    })
  }
  if (values['push-key'] && values.via !== undefined) {
    throw new UsageError('--push-key and --via do not go together', {
      hint: 'the host behind a jump has no agent to push a key to',
    })
  }
  return {
    target,
    port,
    transport,
    handshakeTimeout,
    ...(values['push-key'] ? { pushKeyUser: values.user } : {}),
    ...(values['ssh-dir'] ? { sshDir: values['ssh-dir'] } : {}),
    ...(values.via !== undefined ? { via: values.via } : {}),
    ...(values.reason !== undefined ? { reason: values.reason } : {}),
    ...(values.plugin !== undefined ? { pluginPath: values.plugin } : {}),
  }
}

/** AWS logs nothing inside an SSH session, so say who connected from where and to what. */
export function defaultReason(options: ProxyOptions, env: NodeJS.ProcessEnv): string {
  let who = env.USER ?? env.LOGNAME ?? 'unknown'
  try {
    who = userInfo().username
  } catch {
    // no passwd entry (containers): keep the environment's name
  }
  const where = options.via ? ` via ${options.via}` : ''
  const text = `ssm-ssh: ${who}@${hostname()} ssh to ${options.target}:${options.port}${where}`
  // StartSession Reason: ^.{1,256}$ (aws-api-notes.md §2.2)
  return text.replace(/[\r\n]/g, ' ').slice(0, 256)
}

export const proxy: Command<ProxyOptions> = {
  name: 'proxy',
  summary: 'OpenSSH ProxyCommand: carry ssh over a Session Manager session',
  usage:
    'ssm-ssh proxy <target> [port] [--transport native|plugin] [--via <jump>] [--reason TEXT] [--handshake-timeout SECONDS]',
  examples: [
    'ProxyCommand ssm-ssh proxy %h %p            (in ~/.ssh/config)',
    'ProxyCommand ssm-ssh proxy --via pi-gateway %h %p',
  ],
  parse,
  run: (options, ctx) => runProxy(options, ctx),
}

/** One step for a fresh Pi: ssm-ssh's own key for `user`, valid 10 minutes, then connect. */
async function pushOwnKey(
  ctx: Context,
  clients: AwsClients,
  id: string,
  user: string,
  sshDir: string,
): Promise<void> {
  const { join } = await import('node:path')
  const { readFile } = await import('node:fs/promises')
  const { ensureKeyPair } = await import('../ssh/keygen.ts')
  const { parsePublicKey } = await import('../domain/push-key.ts')
  const { installKey } = await import('./key-install.ts')
  const pair = await ensureKeyPair(join(ctx.paths.stateDir, 'id_ed25519'), 'ssm-ssh')
  const key = parsePublicKey(await readFile(pair.publicKeyPath, 'utf8'), pair.publicKeyPath)
  const { instanceById } = await import('../domain/instance.ts')
  const [row] = await installKey(ctx, clients, [instanceById(id)], {
    key,
    user,
    ttlSeconds: 600,
    method: 'auto',
    sshDir,
  })
  if (!row?.ok)
    throw new TargetError(`could not push a key to ${id}: ${row?.result ?? 'no result'}`, {
      hint: 'ssm-ssh push-key shows the details',
    })
  ctx.log.verbose(`pushed ssm-ssh's key for ${user} to ${id}: ${row.result}`)
}

async function runProxy(options: ProxyOptions, ctx: Context): Promise<number> {
  if (ctx.io.isStdinTTY) {
    throw new UsageError(
      'ssm-ssh proxy is an OpenSSH ProxyCommand and speaks SSH on stdin/stdout, not to a terminal',
      {
        hint: `use: ssh -o ProxyCommand="ssm-ssh proxy %h %p" ${options.target}`,
      },
    )
  }
  ctx.log.debug(
    `proxy start (${Math.round(performance.now())} ms since process start, code cache: ${codeCacheState()})`,
  )
  const clients = clientsFor(ctx)
  // Load what the session needs all at once, the transport included: the file reads overlap instead
  // of queueing behind each other, and the transport is ready when StartSession answers.
  const sessions = import('../aws/sessions.ts')
  const rpc = import('../aws/ssm-rpc.ts')
  const signing = import('../aws/stream-signing.ts')
  const transport =
    options.transport === 'native'
      ? Promise.all([import('../transport/data-channel-session.ts'), import('../transport/stdio-bridge.ts')])
      : undefined
  for (const loading of [rpc, signing, transport]) loading?.catch(() => {})
  const { startSession, resumeSession, terminateSession } = await sessions
  // a signal (ssh's SIGHUP, Ctrl-C) during any of this ends the run: no session opens after it
  const jump =
    options.via === undefined ? undefined : await abortable(ctx.signal, resolveId(options.via, clients, ctx))
  const target = jump ?? (await abortable(ctx.signal, resolveId(options.target, clients, ctx)))
  if (options.pushKeyUser)
    await abortable(
      ctx.signal,
      pushOwnKey(ctx, clients, target, options.pushKeyUser, options.sshDir ?? ctx.paths.sshDir),
    )
  const documentName = jump ? 'AWS-StartPortForwardingSessionToRemoteHost' : 'AWS-StartSSHSession'
  const parameters: Record<string, string[]> = jump
    ? { host: [options.target], portNumber: [String(options.port)] }
    : { portNumber: [String(options.port)] }
  const reason = options.reason ?? defaultReason(options, ctx.env)
  ctx.log.verbose(`starting ${documentName} on ${target}`)
  let ticket: Awaited<ReturnType<typeof startSession>>
  try {
    ticket = await startSession(clients, { target, documentName, parameters, reason })
  } catch (error) {
    if (error instanceof TargetError && (error.cause as Error | undefined)?.name === 'TargetNotConnected') {
      throw await explainNotConnected(error, target, documentName, clients, ctx.now())
    }
    throw error
  }
  ctx.log.verbose(`session ${ticket.sessionId} started (${Math.round(performance.now())} ms since start)`)
  const terminate = () =>
    terminateSession(clients, ticket.sessionId).catch((e: Error) =>
      ctx.log.debug(`TerminateSession: ${e.message}`),
    )
  if (ctx.signal.aborted) {
    // the signal came while StartSession was on its way: end the session it opened
    await terminate()
    throw new CancelledError('interrupted')
  }

  if (options.transport === 'plugin') {
    const { runPlugin } = await import('../transport/plugin.ts')
    const credentials = await clients.credentials()
    // as the AWS CLI does: the URL its SSM client sent StartSession to (configured, else the rules')
    const endpoint = await clients.ssmUrl()
    const code = await runPlugin({
      startSessionResponse: ticket.raw as { SessionId: string; TokenValue: string; StreamUrl: string },
      region: await clients.region(),
      ...(ctx.global.profile ? { profile: ctx.global.profile } : {}),
      startSessionRequest: {
        Target: target,
        DocumentName: documentName,
        Parameters: parameters,
        Reason: reason,
      },
      endpoint,
      env: {
        ...ctx.env,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
      },
      ...(options.pluginPath ? { pluginPath: options.pluginPath } : {}),
      stdin: ctx.io.stdin,
      stdout: ctx.io.stdout,
      stderr: ctx.io.stderr,
      signal: ctx.signal,
    })
    // The plugin exits on stdin EOF without ending the session (its README): end it here.
    ctx.log.verbose(`session-manager-plugin exited with ${code}; ending ${ticket.sessionId}`)
    await terminate()
    return code
  }

  const [{ DataChannelSession, CONNECT_TO_PORT_FAILED }, { bridgeStdio }] = await (transport ??
    Promise.all([import('../transport/data-channel-session.ts'), import('../transport/stdio-bridge.ts')]))
  const session = new DataChannelSession({
    streamUrl: ticket.streamUrl,
    tokenValue: ticket.tokenValue,
    sessionId: ticket.sessionId,
    clientVersion: CLIENT_VERSION,
    resume: () => resumeSession(clients, ticket.sessionId),
    upgradeHeaders: async (url) => (await signing).upgradeHeaders(clients, url),
    log: ctx.log,
    handshakeTimeoutMs: options.handshakeTimeout * 1000,
  })
  // ssh ends its ProxyCommand with SIGHUP/SIGTERM: close the session on the service too.
  const onAbort = () => session.destroy()
  ctx.signal.addEventListener('abort', onAbort, { once: true })
  try {
    await session.open()
  } catch (error) {
    await terminate()
    throw error
  }
  ctx.log.verbose(`handshake complete (${Math.round(performance.now())} ms since start)`)
  keepYoungGenerationSmall()
  // A port-forwarding document (--via) runs in smux mode against agents > 3.0.196.0, as the agent and
  // the plugin both decide it (session-protocol.md §8.1): ssh's stdio is then one smux stream.
  ctx.log.verbose(`port session mode: ${session.portMode} (agent ${session.agent?.version})`)
  let result: Awaited<ReturnType<typeof bridgeStdio>>
  if (session.portMode === 'mux') {
    const { bridgeStdioOverMux } = await import('../transport/mux-bridge.ts')
    result = await bridgeStdioOverMux(session, ctx.io.stdin, ctx.io.stdout)
  } else {
    result = await bridgeStdio(session, ctx.io.stdin, ctx.io.stdout)
  }
  ctx.signal.removeEventListener('abort', onAbort)
  await terminate()
  if (session.portMode === 'mux' && result.reason === CONNECT_TO_PORT_FAILED) {
    // flag ConnectToPortError: the jump's agent could not dial the destination (the session itself was fine)
    throw new SessionError(`${options.via} could not connect to ${options.target}:${options.port}`, {
      hint: `check the address and that something listens on that port, as seen from ${options.via}`,
    })
  }
  if (!result.localEnd && result.reason) {
    throw new SessionError(`the session ended: ${result.reason}`, {
      hint: !options.via
        ? 'the instance closed the connection; check that sshd runs on that port'
        : /is forbidden/.test(result.reason)
          ? `the SSM Agent on ${options.via} refuses instance-metadata and VPC DNS addresses; reach that host another way`
          : `${options.via} closed the connection; check the address and port as seen from ${options.via}`,
    })
  }
  return 0
}
