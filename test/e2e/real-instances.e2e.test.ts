// Real instances: AWS's own amazon-ssm-agent 3.3.1142.0 plays an instance in its own namespaces, with
// its own /etc and a real OpenSSH sshd, and the sandbox's MGS side relays sessions to it. Every scenario
// runs against a real instance and a simulated one and must observe the same behaviour: where they
// disagree, the real agent is right and the simulated one is wrong.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm'
import { execa } from 'execa'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { cli, randomData, sha256, startWorld, type World } from '../helpers/e2e.ts'
import { findOfficialPlugin } from '../helpers/plugin.ts'
import { describeReal } from '../helpers/real.ts'

const MiB = 1024 * 1024
const REAL = 'pi-kitchen'
const SIMULATED = 'pi-garage'

function ssmOf(w: World): SSMClient {
  return new SSMClient({
    endpoint: w.box.endpoint,
    region: w.box.region,
    credentials: { accessKeyId: w.box.accessKeyId, secretAccessKey: w.box.secretAccessKey },
  })
}

/** SendCommand AWS-RunShellScript and wait for the invocation to finish; what GetCommandInvocation says. */
async function runCommand(w: World, instanceId: string, commands: string[]) {
  const ssm = ssmOf(w)
  const sent = await ssm.send(
    new SendCommandCommand({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [instanceId],
      Parameters: { commands },
    }),
  )
  const commandId = sent.Command?.CommandId as string
  return vi.waitFor(
    async () => {
      const r = await ssm
        .send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }))
        .catch(() => undefined)
      if (!r || ['Pending', 'InProgress', 'Delayed'].includes(r.Status ?? '')) throw new Error('not yet')
      return r
    },
    { timeout: 60_000, interval: 300 },
  )
}

/** The world's ssh config with the gateway's LAN (10.* and lab-* names) reached through proxy --via. */
function viaGatewayConfig(w: World): string {
  const config = join(w.dir, 'ssh_config_via')
  writeFileSync(
    config,
    `Host 10.* lab-*\n  ProxyCommand "${process.execPath}" "${cli}" proxy --via pi-gateway %h %p\n${readFileSync(w.config, 'utf8')}`,
  )
  return config
}

describeReal('real instances (amazon-ssm-agent 3.3.1142.0) beside simulated ones', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld({ real: 2 })
  }, 120_000)
  afterAll(async () => w?.close())

  it('come Online with the agent version and computer name the agent reports', async () => {
    const r = await execa(process.execPath, [cli, 'ls', '--json', '--refresh'], {
      env: w.env,
      extendEnv: false,
      reject: false,
    })
    expect(r.stderr).toBe('')
    const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>
    const real = rows.filter((row) => w.box.real.has(String(row.id)))
    expect(real).toHaveLength(2)
    for (const row of real) {
      expect(row.pingStatus).toBe('Online')
      expect(row.agentVersion).toBe('3.3.1142.0')
    }
    expect(real.map((row) => row.computerName).sort()).toEqual(['pi-gateway', 'pi-kitchen'])
  })

  it.each([REAL, SIMULATED])('ssh by id and by name reaches %s as pi', async (name) => {
    const byId = await w.ssh(`pi@${w.idOf(name)}`, 'echo "$USER" && exit 3')
    expect(byId.stderr).toBe('')
    expect(byId.stdout.toString()).toBe('pi\n')
    expect(byId.exitCode).toBe(3)
    const byName = await w.ssh(`pi@${name}`, 'echo hi')
    expect(byName.stdout.toString()).toBe('hi\n')
    expect(byName.exitCode).toBe(0)
  })

  it('TerminateSession ends the session on the real agent too: no session worker is left', async () => {
    const { TerminateSessionCommand } = await import('@aws-sdk/client-ssm')
    const before = new Set(w.box.state.sessions.keys())
    const running = w.ssh(`pi@${REAL}`, 'sleep 60; echo not-reached', { timeoutMs: 30_000 })
    const session = await vi.waitFor(
      () => {
        const s = [...w.box.state.sessions.values()].find((x) => !before.has(x.sessionId))
        if (s?.status !== 'Connected') throw new Error('not connected yet')
        return s
      },
      { timeout: 15_000 },
    )
    const workers = async () =>
      (
        await w.box.real.get(w.idOf(REAL))?.exec(['pgrep', '-c', '-f', '^/usr/bin/ssm-session-worker'])
      )?.stdout.trim()
    await vi.waitFor(async () => expect(await workers()).toBe('1'), { timeout: 10_000 })
    await ssmOf(w).send(new TerminateSessionCommand({ SessionId: session.sessionId }))
    const r = await running
    expect(r.stdout.toString()).toBe('')
    expect(r.exitCode).toBe(255)
    expect(session.status).toBe('Terminated')
    await vi.waitFor(async () => expect(await workers()).toBe('0'), { timeout: 15_000 })
  })

  it('the real instance is its own machine: its hostname, its sshd, its /etc', async () => {
    const r = await w.ssh(`pi@${REAL}`, 'hostname; test -f /etc/sudoers.d/010_pi-nopasswd && echo pi-sudoer')
    expect(r.stdout.toString()).toBe('pi-kitchen\npi-sudoer\n')
  })

  it.each([REAL, SIMULATED])('moves 4 MiB up and 4 MiB down to %s with equal sha256', async (name) => {
    const up = randomData(4 * MiB, 12)
    const upload = await w.ssh(`pi@${name}`, 'cat > blob && sha256sum blob', { input: up })
    expect(upload.exitCode).toBe(0)
    expect(upload.stdout.toString().split(' ')[0]).toBe(sha256(up))
    const download = await w.ssh(`pi@${name}`, 'cat blob')
    expect(download.exitCode).toBe(0)
    expect(sha256(download.stdout)).toBe(sha256(up))
  })

  it.each([REAL, SIMULATED])(
    'Run Command on %s: output and exit code through GetCommandInvocation',
    async (name) => {
      const r = await runCommand(w, w.idOf(name), ['echo out', 'echo err >&2', 'exit 3'])
      expect(r.Status).toBe('Failed')
      expect(r.ResponseCode).toBe(3)
      expect(r.StandardOutputContent).toBe('out\n')
      // the agent appends its own line on failure (the simulated one learned it from the real one)
      expect(r.StandardErrorContent).toBe('err\nfailed to run commands: exit status 3')
      const ok = await runCommand(w, w.idOf(name), ['echo fine'])
      expect(ok.Status).toBe('Success')
      expect(ok.ResponseCode).toBe(0)
      expect(ok.StandardOutputContent).toBe('fine\n')
    },
  )

  it('Run Command runs as root inside the instance: /etc/sudoers.d/x changes the instance, not the machine', async () => {
    const marker = `ssm-ssh-test-${process.pid}`
    expect(existsSync(`/etc/sudoers.d/${marker}`)).toBe(false)
    const r = await runCommand(w, w.idOf(REAL), [
      'id -u',
      `echo 'nobody ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/${marker}`,
      `cat /etc/sudoers.d/${marker}`,
    ])
    expect(r.Status).toBe('Success')
    expect(r.StandardOutputContent).toBe('0\nnobody ALL=(ALL) NOPASSWD: ALL\n')
    expect(existsSync(`/etc/sudoers.d/${marker}`)).toBe(false)
    const inside = await w.box.real.get(w.idOf(REAL))?.exec(['cat', `/etc/sudoers.d/${marker}`])
    expect(inside?.stdout).toBe('nobody ALL=(ALL) NOPASSWD: ALL\n')
  })

  it("reaches the real gateway's LAN hosts with ssh -J: one hop, and two hops behind 10.20.0.11", async () => {
    const one = await w.ssh('admin@10.20.0.10', 'echo "one hop as $USER"', {
      extraArgs: ['-J', 'pi@pi-gateway'],
    })
    expect(one.stderr).toBe('')
    expect(one.stdout.toString()).toBe('one hop as admin\n')
    const up = randomData(1 * MiB, 31)
    const two = await w.ssh('admin@10.30.0.5', 'sha256sum', {
      input: up,
      extraArgs: ['-J', 'pi@pi-gateway,admin@10.20.0.11'],
    })
    expect(two.stdout.toString().split(' ')[0]).toBe(sha256(up))
    // 10.30.0.5 sits behind 10.20.0.11: the gateway itself may not forward there
    const direct = await w.ssh('admin@10.30.0.5', 'true', { extraArgs: ['-J', 'pi@pi-gateway'] })
    expect(direct.exitCode).toBe(255)
  })

  it('proxy --via the real gateway: smux as the agent speaks it, 4 MiB each way to 10.20.0.11, two hops to 10.30.0.5', async () => {
    const config = viaGatewayConfig(w)
    const ssh = (host: string, command: string, input?: Buffer, extra: string[] = []) =>
      execa('ssh', ['-F', config, ...extra, host, command], {
        env: w.env,
        extendEnv: false,
        reject: false,
        encoding: 'buffer',
        timeout: 120_000,
        ...(input ? { input } : { stdin: 'ignore' as const }),
      })
    const up = randomData(4 * MiB, 41)
    const upload = await ssh('admin@10.20.0.11', 'cat > blob && sha256sum blob', up)
    expect(Buffer.from(upload.stderr).toString()).toBe('')
    expect(Buffer.from(upload.stdout).toString().split(' ')[0]).toBe(sha256(up))
    const download = await ssh('admin@10.20.0.11', 'cat blob')
    expect(sha256(Buffer.from(download.stdout))).toBe(sha256(up))
    const two = await ssh(
      'admin@10.30.0.5',
      'echo "two hops to $(hostname -I 2>/dev/null || echo 10.30.0.5)"',
      undefined,
      ['-J', 'admin@10.20.0.11'],
    )
    expect(Buffer.from(two.stdout).toString()).toMatch(/^two hops to /)
    expect(two.exitCode).toBe(0)
    // a destination the gateway cannot reach: ConnectToPortError from the real agent
    const refused = await w.proxy(['--via', 'pi-gateway', '10.99.0.1', '22'])
    expect(refused.exitCode).toBe(5)
    expect(refused.stderr).toMatch(/^ssm-ssh: pi-gateway could not connect to 10\.99\.0\.1:22\n/)
  })

  it('the real gateway resolves a LAN name and dials each address in turn, and refuses instance metadata, as the simulated agent does', async () => {
    const config = viaGatewayConfig(w)
    // lab-nas resolves to fd20::11 (not routed) and then 10.20.0.11, in the gateway's /etc/hosts
    const byName = await execa('ssh', ['-F', config, 'admin@lab-nas', 'echo nas-by-name'], {
      env: w.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    })
    expect(byName.stderr).toBe('')
    expect(byName.stdout).toBe('nas-by-name')
    const real = await w.proxy(['--via', 'pi-gateway', '169.254.169.254', '80'])
    expect(real.exitCode).toBe(5)
    expect(real.stderr.split('\n')[0]).toBe(
      'ssm-ssh: the session ended: Forwarding to IP address 169.254.169.254 is forbidden.',
    )
    expect([...w.box.state.sessions.values()].at(-1)?.status).toBe('Failed')
  })

  it('ssm-ssh forward through the real gateway: two ssh connections over one smux session, a refused one alone fails', async () => {
    const { spawn } = await import('node:child_process')
    const child = spawn(
      process.execPath,
      [cli, 'forward', 'pi-gateway', '-L', '0:10.20.0.11:22', '-L', '0:10.20.0.99:22', '--json'],
      { env: w.env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d
    })
    child.stderr.on('data', (d: Buffer) => {
      err += d
    })
    try {
      await vi.waitFor(() => expect(out.split('\n').filter(Boolean)).toHaveLength(2), { timeout: 20_000 })
      const [nas, nowhere] = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { listen: string; mode: string })
      expect(nas?.mode).toBe('mux')
      const port = (f: { listen: string } | undefined) => (f?.listen ?? '').split(':').pop() as string
      const ssh = (command: string) =>
        execa(
          'ssh',
          ['-F', w.config, '-o', 'ProxyCommand=none', '-p', port(nas), 'admin@127.0.0.1', command],
          {
            env: w.env,
            extendEnv: false,
            reject: false,
            stdin: 'ignore',
          },
        )
      const [a, b] = await Promise.all([ssh('sleep 1; echo a'), ssh('echo b')])
      expect([a.stdout, b.stdout]).toEqual(['a', 'b'])
      const { connect } = await import('node:net')
      await new Promise<void>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: Number(port(nowhere)) })
        socket.on('error', () => {})
        socket.once('close', () => resolve())
      })
      await vi.waitFor(() => expect(err).toMatch(/10\.20\.0\.99:22 refused the connection from pi-gateway/), {
        timeout: 10_000,
      })
      const again = await ssh('echo still-up')
      expect(again.stdout).toBe('still-up')
    } finally {
      child.kill('SIGINT')
      await new Promise((r) => child.once('exit', r))
    }
  })

  it('push-key gives a real and a simulated Pi a temporary key that ssh then uses', async () => {
    const { makeClientKey } = await import('../helpers/ssh-key.ts')
    const { mkdirSync } = await import('node:fs')
    const { join } = await import('node:path')
    const dir = join(w.dir, 'pushed')
    mkdirSync(dir)
    const pushed = makeClientKey(dir)
    const r = await execa(
      process.execPath,
      [cli, 'push-key', REAL, SIMULATED, '--key', `${pushed.path}.pub`, '--ttl', '2m'],
      { env: w.env, extendEnv: false, reject: false },
    )
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    expect(r.stdout.split('\n').filter((l) => l.startsWith('ok'))).toHaveLength(2)
    // only the pushed key: the world's own config minus its IdentityFile
    const { readFileSync, writeFileSync } = await import('node:fs')
    const config = join(dir, 'ssh_config')
    const lines = readFileSync(w.config, 'utf8').split('\n')
    writeFileSync(config, lines.filter((l) => !l.includes('IdentityFile')).join('\n'))
    for (const name of [REAL, SIMULATED]) {
      const login = await execa('ssh', ['-F', config, '-i', pushed.path, `pi@${name}`, 'echo pushed'], {
        env: w.env,
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      })
      expect(login.stdout).toBe('pushed')
      expect(login.exitCode).toBe(0)
    }
  })

  const plugin = findOfficialPlugin()
  // Known flake: under full-suite load one of these forwards stalls an ssh now and then (a different
  // one each time, most often through pi-gateway); retried once until the stall is found. A stalled
  // round ends after 25 s, inside the test's 90 s, and its output says how: ssh's last debug lines
  // and the plugin's, so the retry's report carries the evidence.
  it.skipIf(!plugin).each([
    [REAL, 'AWS-StartPortForwardingSession', { portNumber: ['22'] }, 'pi'],
    [SIMULATED, 'AWS-StartPortForwardingSession', { portNumber: ['22'] }, 'pi'],
    [
      'pi-gateway',
      'AWS-StartPortForwardingSessionToRemoteHost',
      { host: ['10.20.0.11'], portNumber: ['22'] },
      'admin',
    ],
  ])(
    'the official plugin forwards a local port through %s with %s (smux, two connections on one session)',
    { retry: 1, timeout: 90_000 },
    async (name, documentName, parameters, user) => {
      const { sshTwiceThroughPluginForward } = await import('../helpers/plugin.ts')
      const outputs = await sshTwiceThroughPluginForward(
        plugin as string,
        w,
        name as string,
        documentName as string,
        parameters as Record<string, string[]>,
        user as string,
      )
      const expected = [`round 1 as ${user}`, `round 2 as ${user}`]
      // a retry that passes hides this attempt's failure: say it here
      if (outputs.some((o, i) => o !== expected[i]))
        process.stderr.write(`plugin forward through ${name} failed:\n${outputs.join('\n')}\n`)
      expect(outputs).toEqual(expected)
    },
  )

  it.skipIf(!plugin)(
    'the official plugin, started as the AWS CLI starts it, reaches the real instance',
    async () => {
      const up = randomData(4 * MiB, 5)
      const args = [
        '-o',
        `ProxyCommand="${process.execPath}" "${cli}" proxy --transport plugin --plugin "${plugin}" %h %p`,
      ]
      const upload = await w.ssh(`pi@${REAL}`, 'cat > pblob && sha256sum pblob', {
        input: up,
        extraArgs: args,
      })
      expect(upload.stdout.toString().split(' ')[0]).toBe(sha256(up))
      const download = await w.ssh(`pi@${REAL}`, 'cat pblob', { extraArgs: args })
      expect(sha256(download.stdout)).toBe(sha256(up))
    },
  )
})

describeReal('a real instance through drop/dup faults and cut websockets', () => {
  let w: World
  beforeAll(async () => {
    const { parseFaults } = await import('../../src/sandbox/faults.ts')
    w = await startWorld({ real: 1, seed: 5, faults: parseFaults('drop=0.02,dup=0.02,disconnect=5s') })
  }, 120_000)
  afterAll(async () => w?.close())

  it.each([REAL, SIMULATED])(
    'keeps 4 MiB each way to %s intact, resuming the session',
    async (name) => {
      const before = w.box.state.requests.filter(
        (r) => r.operation === 'ResumeSession' && r.status === 200,
      ).length
      const up = randomData(4 * MiB, 21)
      const upload = await w.ssh(`pi@${name}`, 'cat > blob && sha256sum blob', {
        input: up,
        timeoutMs: 240_000,
      })
      expect(upload.stdout.toString().split(' ')[0]).toBe(sha256(up))
      const download = await w.ssh(`pi@${name}`, 'cat blob', { timeoutMs: 240_000 })
      expect(sha256(download.stdout)).toBe(sha256(up))
      const after = w.box.state.requests.filter(
        (r) => r.operation === 'ResumeSession' && r.status === 200,
      ).length
      expect(after).toBeGreaterThan(before)
    },
    300_000,
  )
})
