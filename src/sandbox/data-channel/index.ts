// The data-channel endpoint of the sandbox: websocket upgrades on the API's port, the open frame and
// token checks of session-protocol.md §12.1 rules 2–4, then one AgentChannel per session.
import type { Server } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import { type WebSocket, WebSocketServer } from 'ws'
import { parseOpenDataChannelInput } from '../../protocol/payloads.ts'
import type { Log } from '../../support/log.ts'
import { authorizeCaller, openDataChannelAccess } from '../api/access.ts'
import { ApiError } from '../api/errors.ts'
import { verifySignature } from '../api/sigv4.ts'
import type { Faults } from '../faults.ts'
import type { AgentHub } from '../mgs/hub.ts'
import type { SandboxState, SimSession } from '../model.ts'
import { AgentChannel, type ChannelOptions as AgentChannelOptions } from './agent-channel.ts'

export interface DataChannelOptions {
  faults: Faults
  random: () => number
  pace: boolean
  portPlugin: AgentChannelOptions['portPlugin']
  /** the version every simulated agent reports; by default each instance's own */
  agentVersion?: string
  smuxKeepalive?: AgentChannelOptions['smuxKeepalive']
  idleTimeoutMs?: number
  log?: Log
  /** the MGS side of real instances: their control channels, their data channels, the relays */
  hub?: AgentHub
}

const OPEN_FRAME_TIMEOUT_MS = 10_000
const DEFAULT_IDLE_MS = 20 * 60_000

export function attachDataChannel(
  servers: Array<Server | HttpsServer>,
  state: SandboxState,
  opts: DataChannelOptions,
): { open(session: SimSession): void; close(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
  const channels = new Map<string, AgentChannel>()

  // Any path is upgraded; the verdict comes after the first frame, as a websocket close (rule 2)
  for (const server of servers) {
    server.on('upgrade', (req, socket, head) => {
      // A signed upgrade (newer plugins, ssm-ssh, the agent: SigV4, service ssmmessages) must verify,
      // as the service checks it; an unsigned one is still taken, as from plugins before 1.2.688.
      const [path = '/', query] = (req.url ?? '/').split('?')
      const signed = typeof req.headers.authorization === 'string'
      if (signed) {
        try {
          const { service, credential } = verifySignature(
            { method: 'GET', path, ...(query ? { query } : {}), headers: req.headers, body: Buffer.alloc(0) },
            state,
            'json',
            state.now(),
          )
          if (service !== 'ssmmessages') throw new Error(`signed for ${service}, not ssmmessages`)
          // the caller's policy decides whether it may open a session's data channel (AWS's sample
          // end-user policies allow ssmmessages:OpenDataChannel on session/${aws:userid}-*)
          const dataChannel = /^\/v1\/data-channel\/([^/?]+)/.exec(path)
          if (dataChannel)
            authorizeCaller(
              state,
              credential,
              'ssmmessages',
              openDataChannelAccess(state, decodeURIComponent(dataChannel[1] as string)),
            )
        } catch (error) {
          opts.log?.verbose(`refused a websocket upgrade to ${path}: ${(error as Error).message}`)
          // an IAM deny says why, as a JSON body; a signature that does not verify gets none
          const body =
            error instanceof ApiError && error.code === 'AccessDeniedException'
              ? JSON.stringify({ message: error.message })
              : ''
          state.requests.push({
            at: state.now(),
            service: 'ssmmessages',
            operation: 'WebSocketUpgrade',
            status: 403,
            ...(error instanceof ApiError ? { errorCode: error.code } : {}),
          })
          socket.end(
            `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
          )
          return
        }
      }
      state.requests.push({
        at: state.now(),
        service: 'ssmmessages',
        operation: 'WebSocketUpgrade',
        status: 101,
        ...(req.socket.remotePort ? { peerPort: req.socket.remotePort } : {}),
      })
      wss.handleUpgrade(req, socket, head, (ws) => {
        const control = /^\/v1\/control-channel\/([^/?]+)/.exec(path)
        if (control && opts.hub) {
          opts.hub.acceptControlChannel(ws, decodeURIComponent(control[1] as string))
          return
        }
        const m = /^\/v1\/data-channel\/([^/?]+)/.exec(path)
        onSocket(ws, m ? decodeURIComponent(m[1] as string) : undefined, signed)
      })
    })
  }

  function onSocket(ws: WebSocket, sessionId: string | undefined, signed: boolean): void {
    const timer = setTimeout(() => ws.close(1008, 'invalid open request'), OPEN_FRAME_TIMEOUT_MS)
    ws.once('message', (data: Buffer, isBinary: boolean) => {
      clearTimeout(timer)
      let token: string
      let clientVersion: string | undefined
      try {
        if (isBinary) throw new Error('binary open frame')
        const open = parseOpenDataChannelInput(data)
        token = open.TokenValue
        clientVersion = open.ClientVersion
      } catch {
        ws.close(1008, 'invalid open request')
        return
      }
      // a real agent's own data channel, with a token from CreateDataChannel
      if (sessionId !== undefined && opts.hub?.acceptAgentDataChannel(ws, sessionId, token)) return
      const session = sessionId === undefined ? undefined : state.sessions.get(sessionId)
      if (!session || session.status === 'Terminated' || session.status === 'Failed') {
        ws.close(1008, 'session not found')
        return
      }
      if (token !== session.tokenValue || session.tokenUsed) {
        ws.close(1008, 'invalid token')
        return
      }
      session.tokenUsed = true
      session.clientUpgradeSigned = signed
      if (clientVersion) session.clientVersion = clientVersion
      const relay = opts.hub?.relayOf(session.sessionId)
      if (relay) {
        relay.attachClient(ws)
        return
      }
      const channel = channels.get(session.sessionId) ?? open(session)
      channel.attach(ws)
    })
    ws.on('error', () => {})
  }

  /** The simulated agent's side of a new session: it starts the handshake at once, as the agent does. */
  function open(session: SimSession): AgentChannel {
    let channel = channels.get(session.sessionId)
    if (!channel || channel.closed) {
      channel = new AgentChannel(session, {
        faults: opts.faults,
        random: opts.random,
        pace: opts.pace,
        // the agent's handshake says what UpdateInstanceInformation said (DescribeInstanceInformation)
        agentVersion: opts.agentVersion ?? state.instances.get(session.target)?.agentVersion ?? '3.3.1142.0',
        ...(opts.smuxKeepalive ? { smuxKeepalive: opts.smuxKeepalive } : {}),
        idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_MS,
        portPlugin: opts.portPlugin,
        ...(opts.log ? { log: opts.log } : {}),
        onEnd: () => channels.delete(session.sessionId),
      })
      channels.set(session.sessionId, channel)
      channel.begin()
    }
    return channel
  }

  return {
    open: (session) => void open(session),
    close: async () => {
      for (const channel of channels.values()) channel.close()
      channels.clear()
      for (const ws of wss.clients) ws.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}
