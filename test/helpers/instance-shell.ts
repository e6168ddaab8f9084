// One way for tests to act on an instance's files, real or simulated: a shell as root and as its
// user, the user's authorized_keys, and the root-owned files a hostile home must not reach.
// A real instance (sandbox --real) has its own /etc and /root; a simulated one is a directory of the
// machine, so its "root files" are a stand-in tree under the test's directory, never the machine's.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { World } from './e2e.ts'

export interface InstanceShell {
  name: string
  id: string
  user: string
  /** prefix of the instance's / as its scripts see it: '' on a real instance */
  root: string
  /** sh -c as root on the instance; HOME is the user's home, R the root prefix */
  asRoot(command: string): Promise<{ exitCode: number; stdout: string; stderr: string }>
  /** sh -c as the (unprivileged) user, in its home */
  asUser(command: string): Promise<{ exitCode: number; stdout: string; stderr: string }>
  /**
   * sha256, type, owner and mode of every file under /etc and /root that differs from the machine's:
   * on a real instance those are in its overlay's upper layer (a change of content, owner or mode
   * copies a file up; a removal leaves a whiteout), which is fast to read where hashing the whole of
   * /root took more than 30 s; on a simulated one, the whole stand-in tree
   */
  rootFiles(): Promise<string>
  /** the PIDs of processes whose command line holds `text` */
  pids(text: string): Promise<number[]>
  /** SIGKILL these PIDs (as `pids` gave them) */
  kill(pids: number[]): Promise<void>
  setTimezone(tz: string): Promise<void>
  /** a real instance's agent stopped (SIGTERM) and started again, as after a reboot; none on a simulated one */
  restartAgent?(): Promise<void>
}

const LIST_ROOT_FILES =
  'find "$R/etc" "$R/root" -xdev -printf "%p %y %U:%G %m %l\\n" 2>/dev/null | sort; ' +
  'find "$R/etc" "$R/root" -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum'

function run(argv: string[], env: NodeJS.ProcessEnv, cwd?: string) {
  return new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), {
      env,
      ...(cwd ? { cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({
        exitCode: code ?? 1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    )
  })
}

export function realInstance(w: World, name: string): InstanceShell {
  const id = w.idOf(name)
  const real = w.box.real.get(id)
  if (!real) throw new Error(`${name} is not a real instance`)
  const env = { R: '', HOME: '/home/pi' }
  return {
    name,
    id,
    user: 'pi',
    root: '',
    asRoot: (command) => real.exec(['/bin/sh', '-c', command], { env }),
    asUser: (command) =>
      real.exec(['runuser', '-u', 'pi', '--', '/bin/sh', '-c', `cd && ${command}`], { env }),
    rootFiles: async () =>
      (await run(['/bin/sh', '-c', LIST_ROOT_FILES], { R: real.hostPathOf('/'), PATH: process.env.PATH }))
        .stdout,
    pids: async (text) =>
      (await real.exec(['pgrep', '-f', '--', text])).stdout.split('\n').filter(Boolean).map(Number),
    kill: async (pids) => {
      if (pids.length > 0) await real.exec(['kill', '-KILL', ...pids.map(String)])
    },
    setTimezone: async (tz) => {
      const r = await real.exec(['ln', '-sfn', `/usr/share/zoneinfo/${tz}`, '/etc/localtime'])
      if (r.exitCode !== 0) throw new Error(`cannot set the time zone: ${r.stderr}`)
    },
    restartAgent: async () => {
      // as the init script starts it (real/init-script.ts), with the credentials the sandbox accepts
      const stop =
        'pid=$(cat /run/ssm-ssh/agent.pid) && kill -TERM "$pid" && ' +
        'for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done; exit 1'
      const stopped = await real.exec(['/bin/sh', '-c', stop])
      if (stopped.exitCode !== 0) throw new Error(`the agent did not stop: ${stopped.stderr}`)
      const start =
        'setsid /usr/bin/amazon-ssm-agent </dev/null >>/var/log/amazon/ssm/restarted.log 2>&1 & echo $! >/run/ssm-ssh/agent.pid'
      const started = await real.exec(['/bin/sh', '-c', start], {
        env: {
          AWS_ACCESS_KEY_ID: w.box.state.accessKeyId,
          AWS_SECRET_ACCESS_KEY: w.box.state.secretAccessKey,
          SSL_CERT_FILE: '/etc/ssl/certs/ssm-sandbox-ca.pem',
        },
      })
      if (started.exitCode !== 0) throw new Error(`the agent did not start again: ${started.stderr}`)
    },
  }
}

export function simulatedInstance(w: World, name: string): InstanceShell {
  const id = w.idOf(name)
  const instance = w.box.state.instances.get(id)
  if (!instance) throw new Error(`no instance ${name}`)
  const root = join(w.dir, `root-of-${name}`)
  mkdirSync(instance.home, { recursive: true })
  mkdirSync(join(root, 'etc', 'sudoers.d'), { recursive: true })
  mkdirSync(join(root, 'root', '.ssh'), { recursive: true, mode: 0o700 })
  writeFileSync(join(root, 'etc', 'shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o640 })
  writeFileSync(join(root, 'root', '.ssh', 'authorized_keys'), `${w.key.publicKey} root\n`, { mode: 0o600 })
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', R: root, HOME: instance.home }
  const sh = (command: string) => run(['/bin/sh', '-c', command], env, instance.home)
  return {
    name,
    id,
    user: instance.users[0] as string,
    root,
    asRoot: sh,
    // the simulated host has one OS user: the sandbox's own
    asUser: sh,
    rootFiles: async () => (await sh(LIST_ROOT_FILES)).stdout,
    pids: async (text) =>
      (await run(['pgrep', '-f', '--', text], env)).stdout.split('\n').filter(Boolean).map(Number),
    kill: async (pids) => {
      for (const pid of pids) process.kill(pid, 'SIGKILL')
    },
    setTimezone: async (tz) => {
      instance.timezone = tz
    },
  }
}
