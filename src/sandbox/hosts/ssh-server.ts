// One simulated host's SSH server: ssh2 on 127.0.0.1, public-key auth against the host's own
// authorized_keys (with OpenSSH's expiry-time option) and EC2 Instance Connect keys, commands run by
// a real shell in the host's home.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { type AddressInfo, connect } from 'node:net'
import type { ParsedKey } from 'ssh2'
import ssh2 from 'ssh2'
import type { Log } from '../../support/log.ts'
import { parseAuthorizedKeys } from './authorized-keys.ts'

const { Server, utils } = ssh2
const SCRIPT = '/usr/bin/script'

export interface HostSpec {
  /** instance id or private address: for logs */
  name: string
  users: string[]
  home: string
  hostKey: Buffer
  /** keys pushed through EC2 Instance Connect that are valid right now for `user` */
  pushedKeys(user: string): string[]
  now(): Date
  /** the host's time zone (IANA), in which sshd reads expiry-time; UTC when absent */
  timeZone?(): string
  /** direct-tcpip (ssh -W, ProxyJump): the loopback port for an allowed address, else undefined */
  forward?(address: string, port: number): Promise<number | undefined>
  log?: Log
}

export interface RunningHost {
  port: number
  close(): Promise<void>
}

async function allowedKeys(spec: HostSpec, user: string): Promise<ParsedKey[]> {
  let text = ''
  try {
    text = await readFile(`${spec.home}/.ssh/authorized_keys`, 'utf8')
  } catch {
    // no authorized_keys: only pushed keys can work
  }
  const lines = [...parseAuthorizedKeys(text, spec.now(), spec.timeZone?.()), ...spec.pushedKeys(user)]
  const keys: ParsedKey[] = []
  for (const line of lines) {
    const parsed = utils.parseKey(line)
    if (!(parsed instanceof Error)) keys.push(Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed)
  }
  return keys
}

function shellEnv(spec: HostSpec, user: string): NodeJS.ProcessEnv {
  return {
    HOME: spec.home,
    USER: user,
    LOGNAME: user,
    SHELL: '/bin/sh',
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    SSM_SSH_SANDBOX_HOME: spec.home,
  }
}

export async function startSshServer(spec: HostSpec): Promise<RunningHost> {
  const clients = new Set<ssh2.Connection>()
  const server = new Server({ hostKeys: [spec.hostKey] }, (client) => {
    // Without TCP_NODELAY, Nagle and delayed ACKs held some handshake packets back 40 ms: a direct
    // `ssh host true` took 100 or 140 ms by chance, which made every comparison against it noisy.
    // (ssh2's server connection has setNoDelay; @types/ssh2 lists it on the client side only)
    ;(client as unknown as { setNoDelay(noDelay: boolean): void }).setNoDelay(true)
    clients.add(client)
    client.on('close', () => clients.delete(client))
    let user = ''
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || !spec.users.includes(ctx.username)) {
        ctx.reject(['publickey'])
        return
      }
      const offered = ctx.key
      allowedKeys(spec, ctx.username).then(
        (keys) => {
          const match = keys.find((k) => k.getPublicSSH().equals(offered.data))
          if (!match) return ctx.reject(['publickey'])
          if (ctx.signature && ctx.blob) {
            if (match.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey'])
          }
          user = ctx.username
          ctx.accept()
        },
        () => ctx.reject(['publickey']),
      )
    })
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession()
        // With a pty requested (interactive ssh), the shell gets a real terminal through util-linux
        // script(1), so line editing, echo and Enter (CR) behave as on a real host.
        let pty: { term: string; cols: number; rows: number } | undefined
        session.on('pty', (accept, _reject, info) => {
          pty = { term: info.term || 'xterm', cols: info.cols || 80, rows: info.rows || 24 }
          accept?.()
        })
        session.on('env', (accept) => accept?.())
        session.on('window-change', (accept) => accept?.())
        const run = (command: string | undefined, accept: () => ssh2.ServerChannel) => {
          const channel = accept()
          const env = shellEnv(spec, user)
          const shellLine = command ?? '/bin/sh -i'
          const usePty = pty !== undefined && existsSync(SCRIPT)
          if (usePty && pty) env.TERM = pty.term
          const child = usePty
            ? spawn(
                SCRIPT,
                [
                  '-q',
                  '-f',
                  '-e',
                  '-c',
                  `stty cols ${pty?.cols} rows ${pty?.rows} 2>/dev/null; ${shellLine}`,
                  '/dev/null',
                ],
                { cwd: spec.home, env, stdio: 'pipe' },
              )
            : spawn('/bin/sh', command === undefined ? ['-i'] : ['-c', command], {
                cwd: spec.home,
                env,
                stdio: 'pipe',
              })
          channel.pipe(child.stdin)
          child.stdout.pipe(channel, { end: false })
          child.stderr.pipe(channel.stderr, { end: false })
          child.stdin.on('error', () => {})
          let pending = 2
          let code = 0
          const finish = () => {
            if (--pending > 0) return
            channel.exit(code)
            channel.end()
          }
          child.stdout.on('end', finish)
          child.on('close', (status, signal) => {
            code = status ?? (signal ? 128 : 1)
            finish()
          })
          child.on('error', (error) => {
            channel.stderr.write(`${error.message}\n`)
            code = 127
            finish()
          })
          channel.on('close', () => child.kill('SIGHUP'))
        }
        session.on('exec', (accept, _reject, info) => run(info.command, accept))
        session.on('shell', (accept) => run(undefined, accept))
        session.on('subsystem', (accept, reject, info) => {
          if (info.name !== 'sftp') return reject()
          // OpenSSH's sftp-server, where installed, serves SFTP the way a real host does.
          const channel = accept()
          const child = spawn('/usr/lib/openssh/sftp-server', [], {
            cwd: spec.home,
            env: shellEnv(spec, user),
          })
          channel.pipe(child.stdin)
          child.stdin.on('error', () => {})
          child.stdout.pipe(channel, { end: false })
          child.on('error', () => channel.close())
          // like exec: an exit status, then EOF, or scp reports the transfer as failed
          child.on('close', (code) => {
            channel.exit(code ?? 1)
            channel.end()
          })
        })
      })
      client.on('tcpip', (accept, reject, info) => {
        const forward = spec.forward
        if (!forward) return reject()
        forward(info.destIP, info.destPort).then(
          (port) => {
            if (port === undefined) return reject()
            const socket = connect({ host: '127.0.0.1', port })
            socket.once('connect', () => {
              const channel = accept()
              channel.pipe(socket).pipe(channel)
              channel.on('close', () => socket.destroy())
              socket.on('close', () => channel.close())
            })
            socket.once('error', () => reject())
          },
          () => reject(),
        )
      })
    })
    client.on('error', (error) => spec.log?.debug(`ssh ${spec.name}: ${error.message}`))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // close() waits for open connections: end them.
        for (const client of clients) client.end()
      }),
  }
}
