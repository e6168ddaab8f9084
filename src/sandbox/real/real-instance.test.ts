// Real instances on this machine: AWS's agent and OpenSSH's sshd in their own namespaces. Skipped
// (with the reason in the suite's name) where the machine cannot run them; in CI that is a failure.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { createServer, type Server } from 'node:https'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { makeClientKey } from '../../../test/helpers/ssh-key.ts'
import { type RealInstance, type RealInstanceSpec, startRealInstance } from './instance.ts'
import { MARKER } from './marker.ts'
import { defaultAgentBinDir, findTool, realInstancesUnavailable } from './prerequisites.ts'
import { liveInstanceProcesses, reapStaleInstances } from './reap.ts'

const here = dirname(fileURLToPath(import.meta.url))
const unavailable =
  realInstancesUnavailable(defaultAgentBinDir()) ??
  (findTool('openssl') ? undefined : 'the test needs openssl: apt-get install openssl')
const skip = unavailable !== undefined && process.env.CI !== 'true'

const ACCESS_KEY_ID = 'ASIAREALINSTANCETEST'
const ROLE_TOKEN = 'real-instance-test-role-token'

/** A CA and a 127.0.0.1 certificate it signed, as the sandbox makes them. */
function makeTls(dir: string): { caCertFile: string; cert: Buffer; key: Buffer } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  openssl(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=real instance test CA', '-days', '2'],
  )
  openssl(
    ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'],
  )
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  openssl(
    ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
    ...['-days', '2', '-extfile', 'server.ext', '-out', 'server.pem'],
  )
  return {
    caCertFile: join(dir, 'ca.pem'),
    cert: readFileSync(join(dir, 'server.pem')),
    key: readFileSync(join(dir, 'server.key')),
  }
}

interface Recorded {
  method: string
  url: string
  headers: IncomingHttpHeaders
}

async function until<T>(what: string, ms: number, probe: () => T | undefined | Promise<T | undefined>) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe.skipIf(skip)(skip ? `real instances (skipped: ${unavailable})` : 'real instances', () => {
  const requests: Recorded[] = []
  let tmp = ''
  let key: { path: string; publicKey: string }
  let server: Server | undefined
  let instance: RealInstance
  let spec: RealInstanceSpec

  beforeAll(async () => {
    if (unavailable) throw new Error(unavailable)
    tmp = mkdtempSync(join(tmpdir(), 'ssm-ssh-real-'))
    key = makeClientKey(tmp)
    const tls = makeTls(tmp)
    const socket = join(tmp, 'service.sock')
    // The sandbox's side, reduced to a recorder. Its error sends the agent into hibernation (no
    // request for 5 minutes), which is fine here: the first request is all this test looks at.
    const recorder = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
      req.resume()
      // the role's credentials endpoint, the end of the agent's credential chain
      if (req.method === 'GET' && req.url === `/v2/credentials/${spec.id}`) {
        const ok = req.headers.authorization === ROLE_TOKEN
        res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' })
        const expiration = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
        res.end(
          JSON.stringify(
            ok
              ? {
                  AccessKeyId: ACCESS_KEY_ID,
                  SecretAccessKey: 'secret',
                  Token: 'token',
                  Expiration: expiration,
                }
              : { Code: 'AccessDenied', Message: 'invalid authorization token' },
          ),
        )
        return
      }
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' })
      res.end('{"__type":"ValidationException","message":"real-instance test: not a service"}')
    })
    server = recorder
    await new Promise<void>((resolve) => recorder.listen(socket, resolve))
    spec = {
      id: 'mi-0123456789abcdef0',
      hostname: 'pi-kitchen',
      region: 'eu-west-1',
      dir: join(tmp, 'real', 'mi-0123456789abcdef0'),
      serviceSocket: socket,
      servicePort: 8443,
      caCertFile: tls.caCertFile,
      roleToken: ROLE_TOKEN,
      users: ['pi'],
      authorizedKey: key.publicKey,
      agentBinDir: defaultAgentBinDir(),
      // as the sandbox's fleet has them: 10.30.0.5 sits behind 10.20.0.11
      lanHosts: [
        { address: '10.20.0.10', users: ['admin'], forwardsTo: [] },
        { address: '10.20.0.11', users: ['admin'], forwardsTo: ['10.30.0.5'] },
        { address: '10.30.0.5', users: ['admin'], forwardsTo: [] },
      ],
    }
    instance = await startRealInstance(spec)
  })

  afterAll(async () => {
    await instance?.close()
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  /** What reapStaleInstances() removed of this test's (another sandbox's leftovers may go too). */
  const reapOurs = async () => (await reapStaleInstances()).filter((line) => line.includes(tmp))

  const sh = async (script: string, input?: string) => {
    const result = await instance.exec(['bash', '-c', script], { input, timeoutMs: 10_000 })
    if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}: ${script}\n${result.stderr}`)
    return result.stdout
  }

  it("the agent reaches the sandbox through the forwarder, trusting the sandbox's CA, signing with its role's credentials", async () => {
    const signed = await until('a signed request from the agent', 10_000, () =>
      requests.find((r) => String(r.headers.authorization).includes(`Credential=${ACCESS_KEY_ID}/`)),
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await instance.agentLog()}`)
    })
    expect(signed.headers.authorization).toContain('/eu-west-1/')
    expect(signed.method).toBe('POST')
    expect(signed.headers['x-amz-security-token']).toBe('token')
    const asked = requests.find((r) => r.url === `/v2/credentials/${spec.id}`)
    expect(asked?.headers.authorization).toBe(ROLE_TOKEN)
    // no long-lived key in the agent's environment
    const environ = await sh('tr "\\0" "\\n" </proc/$(cat /run/ssm-ssh/agent.pid)/environ')
    expect(environ).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/)
  })

  it('sshd answers with an OpenSSH banner on 127.0.0.1 and on the LAN host address', async () => {
    const banner = (address: string) => sh(`exec 3<>/dev/tcp/${address}/22; head -c 15 <&3`)
    expect(await banner('127.0.0.1')).toBe('SSH-2.0-OpenSSH')
    expect(await banner('10.20.0.10')).toBe('SSH-2.0-OpenSSH')
  })

  it('has the users, sudoers and authorized_keys of a Raspberry Pi', async () => {
    const files = '/home/pi /home/pi/.ssh /home/pi/.ssh/authorized_keys /etc/sudoers.d/010_pi-nopasswd'
    expect(await sh(`stat -c '%U %G %a %n' ${files} /home/admin/.ssh/authorized_keys`)).toBe(
      [
        'pi pi 755 /home/pi',
        'pi pi 700 /home/pi/.ssh',
        'pi pi 600 /home/pi/.ssh/authorized_keys',
        'root root 440 /etc/sudoers.d/010_pi-nopasswd',
        'admin admin 600 /home/admin/.ssh/authorized_keys',
        '',
      ].join('\n'),
    )
    expect(await sh('cat /etc/sudoers.d/010_pi-nopasswd')).toBe('pi ALL=(ALL) NOPASSWD: ALL\n')
    expect(await sh('id -nG pi')).toMatch(/\bsudo\b/)
    expect(await sh('cat /home/pi/.ssh/authorized_keys')).toBe(`${key.publicKey}\n`)
  })

  it('takes a key login, and ssh -J through it reaches the LAN hosts as the fleet chains them', async () => {
    // the client runs inside too: 127.0.0.1 and 10.20.0.10 are the instance's, not the machine's
    const config = [
      'Host *',
      '  IdentityFile /root/test-key',
      '  BatchMode yes',
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  LogLevel ERROR',
    ].join('\n')
    await sh(
      `umask 077; cat > /root/test-key; printf '%s\\n' '${config}' > /root/test-ssh-config`,
      readFileSync(key.path, 'utf8'),
    )
    const ssh = (args: string) => sh(`ssh -F /root/test-ssh-config ${args}`)
    expect(await ssh("pi@127.0.0.1 'id -un; hostname'")).toBe('pi\npi-kitchen\n')
    expect(await ssh('-tt pi@127.0.0.1 tty')).toMatch(/^\/dev\/pts\/\d+\r?\n$/)
    const viaJump = await ssh(`-J pi@127.0.0.1 admin@10.20.0.10 'id -un; echo $SSH_CONNECTION'`)
    expect(viaJump).toMatch(/^admin\n\S+ \d+ 10\.20\.0\.10 22\n$/)
    expect(await ssh('-J pi@127.0.0.1,admin@10.20.0.11 admin@10.30.0.5 id -un')).toBe('admin\n')
    // sshd's PermitOpen: the instance does not forward straight to a host behind another, and a
    // LAN host only to the hosts it lists
    const prohibited = /stdio forwarding failed/ // "administratively prohibited", above LogLevel ERROR
    await expect(ssh('-J pi@127.0.0.1 admin@10.30.0.5 true')).rejects.toThrow(prohibited)
    await expect(ssh('-J pi@127.0.0.1,admin@10.20.0.10 pi@127.0.0.1 true')).rejects.toThrow(prohibited)
    // each sshd lets in its own users only
    await expect(ssh('admin@127.0.0.1 true')).rejects.toThrow(/Permission denied/)
  })

  it('has its own hostname, /etc/hosts and a network that ends at loopback', async () => {
    expect(await sh('hostname; cat /etc/hostname')).toBe('pi-kitchen\npi-kitchen\n')
    expect(await sh('cat /etc/hosts')).toContain('127.0.1.1\tpi-kitchen\n')
    expect(await sh('ip -o -4 addr show dev lo')).toContain('10.20.0.10/32')
    expect(await sh('ls /sys/class/net')).toBe('lo\n')
    const route = await instance.exec(['ip', 'route', 'get', '1.1.1.1'])
    expect(route.exitCode).not.toBe(0)
    expect(execFileSync('ip', ['-o', 'addr'], { encoding: 'utf8' })).not.toContain('10.20.0.10')
  })

  it("never changes the machine's files: writes land in the overlay's upper layer", async () => {
    const name = `ssm-ssh-test-${process.pid}`
    await sh(`echo sudo > /etc/sudoers.d/${name}; echo bin > /usr/bin/${name}`)
    expect(existsSync(`/etc/sudoers.d/${name}`)).toBe(false)
    expect(existsSync(`/usr/bin/${name}`)).toBe(false)
    expect(readFileSync(instance.hostPathOf(`/etc/sudoers.d/${name}`), 'utf8')).toBe('sudo\n')
    expect(readFileSync(instance.hostPathOf(`/usr/bin/${name}`), 'utf8')).toBe('bin\n')
    expect(instance.hostPathOf('/../etc/x')).toBe(join(spec.dir, 'upper/etc/x'))
  })

  it('dies with its sandbox: SIGKILL of the Node process that started it leaves nothing', async () => {
    // A second sandbox process, bundled from our source, that starts one instance and waits.
    const harness = join(tmp, 'harness.mjs')
    const bundle = await build({
      stdin: {
        contents: `import { startRealInstance } from './instance.ts'
          const instance = await startRealInstance(JSON.parse(process.argv[2]))
          process.stdout.write('ready ' + instance.pid + '\\n')
          setInterval(() => {}, 60_000)`,
        resolveDir: here,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    })
    writeFileSync(harness, bundle.outputFiles[0]?.text ?? '')
    const dir = join(tmp, 'real', 'mi-0fedcba9876543210')
    const other = {
      ...spec,
      id: 'mi-0fedcba9876543210',
      hostname: 'pi-garage',
      dir,
      lanHosts: [],
      log: undefined,
    }
    const sandbox: ChildProcess = spawn(process.execPath, [harness, JSON.stringify(other)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    onTestFinished(() => {
      sandbox.kill('SIGKILL')
    })
    let output = ''
    sandbox.stdout?.on('data', (chunk: Buffer) => (output += chunk))
    sandbox.stderr?.on('data', (chunk: Buffer) => (output += chunk))
    const initPid = await until('the harness instance', 15_000, () => {
      if (sandbox.exitCode !== null) throw new Error(`harness exited ${sandbox.exitCode}: ${output}`)
      return /ready (\d+)/.exec(output)?.[1]
    })
    expect(liveInstanceProcesses(dir)).toContain(Number(initPid))
    // a live sandbox's instances (ours and the harness's) are not stale
    expect(await reapOurs()).toEqual([])

    sandbox.kill('SIGKILL')
    await until('the instance gone after its sandbox', 3000, () =>
      liveInstanceProcesses(dir).length === 0 ? true : undefined,
    )
    expect(await reapOurs()).toEqual([])
    expect(liveInstanceProcesses(spec.dir).length).toBeGreaterThan(0)
  })

  it('reapStaleInstances kills what a gone sandbox left, and unmounts a leaked instance root', async () => {
    const dir = join(tmp, 'real', 'mi-0bbbbbbbbbbbbbbbb')
    mkdirSync(join(dir, 'root'), { recursive: true })
    writeFileSync(join(dir, 'init.sh'), '')
    // "sandbox" pid: alive, but not node (a reused pid must not keep an instance alive)
    const notNode = spawn('sleep', ['30'], { stdio: 'ignore' })
    // a marked process without children (bash's read waits on a pipe nobody writes)
    const leftover = spawn('bash', ['-c', 'read -r -t 30 _', MARKER, dir, String(notNode.pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
    })
    execFileSync('mount', ['--bind', join(tmp, 'real'), join(dir, 'root')])
    try {
      await until('the leftover running', 2000, () =>
        liveInstanceProcesses(dir).length > 0 ? true : undefined,
      )
      const removed = await reapOurs()
      expect(removed).toEqual([
        `killed the real instance in ${dir} (its sandbox, pid ${notNode.pid}, is gone): pids ${leftover.pid}`,
        `unmounted ${join(dir, 'root')}`,
      ])
      expect(liveInstanceProcesses(dir)).toEqual([])
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir)
      expect(liveInstanceProcesses(spec.dir).length).toBeGreaterThan(0)
    } finally {
      notNode.kill('SIGKILL')
      leftover.kill('SIGKILL')
      spawnSync('umount', [join(dir, 'root')], { stdio: 'ignore' })
    }
  })

  it('a failed start-up rejects with the tail of the init log and leaves nothing running', async () => {
    // a user named like an existing group (tty, without a tty user): useradd refuses
    const dir = join(tmp, 'real', 'mi-0aaaaaaaaaaaaaaaa')
    const broken = { ...spec, id: 'mi-0aaaaaaaaaaaaaaaa', dir, users: ['tty'], lanHosts: [] }
    await expect(startRealInstance(broken)).rejects.toThrow(/did not start: PID 1 exited[\s\S]*useradd/)
    expect(liveInstanceProcesses(dir)).toEqual([])
  })

  it('close() stops every process of the instance and leaves no mount behind', async () => {
    expect(liveInstanceProcesses(spec.dir).length).toBeGreaterThanOrEqual(5)
    const started = Date.now()
    await instance.close()
    expect(Date.now() - started).toBeLessThan(4000)
    expect(liveInstanceProcesses(spec.dir)).toEqual([])
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(spec.dir)
    await instance.close()
  })
})
