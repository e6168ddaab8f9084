// Proxy benchmarks, side by side in one run against the sandbox: connection setup overhead over a
// direct ssh to the same SSH server, throughput paced and unpaced, peak RSS and CPU per MiB — for
// --transport native and --transport plugin (the official session-manager-plugin).
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureHostPort } from '../src/sandbox/hosts/index.ts'
import { type Sandbox, startSandbox } from '../src/sandbox/sandbox.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'ssm-ssh.mjs')
const measure = join(root, 'bench', 'measure-tree.mjs')
const MiB = 1024 * 1024
const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-bench-'))
const key = join(dir, 'id_ed25519')
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])

/** The official plugin: on PATH, else the copy beside the project (shared by the forward bench). */
export function findPlugin(): string | undefined {
  for (const c of [
    ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'session-manager-plugin')),
    join(root, '..', 'shared', 'tools', 'session-manager-plugin', 'session-manager-plugin'),
  ]) {
    try {
      accessSync(c, constants.X_OK)
      return c
    } catch {
      // next
    }
  }
  return undefined
}

const plugin = findPlugin()
type Transport = 'native' | 'plugin'
const transports: Transport[] = plugin ? ['native', 'plugin'] : ['native']

/** An ssh config sending every host through `proxy` with this key only, quiet and non-interactive. */
export function sshConfigText(proxy: string, identityFile: string, extra: string[] = []): string {
  return [
    'Host *',
    `  ProxyCommand ${proxy}`,
    ...extra,
    `  IdentityFile ${identityFile}`,
    '  IdentitiesOnly yes',
    '  BatchMode yes',
    '  StrictHostKeyChecking no',
    '  UserKnownHostsFile /dev/null',
    '  LogLevel ERROR',
    '',
  ].join('\n')
}

function writeConfig(name: string, proxy: string, extra: string[] = []): string {
  const file = join(dir, `config-${name}`)
  writeFileSync(file, sshConfigText(proxy, key, extra))
  return file
}

function proxyCommand(t: Transport, measured: string | undefined): string {
  const base = `"${process.execPath}" "${cli}" proxy${t === 'plugin' ? ` --transport plugin --plugin "${plugin}"` : ''} %h %p`
  return measured ? `"${process.execPath}" "${measure}" "${measured}" -- ${base}` : base
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: Buffer,
): Promise<{ ms: number; stdout: Buffer; code: number | null }> {
  return new Promise((resolvePromise, reject) => {
    const start = process.hrtime.bigint()
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'inherit'] })
    const out: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.on('error', reject)
    child.on('close', (code) =>
      resolvePromise({ ms: Number(process.hrtime.bigint() - start) / 1e6, stdout: Buffer.concat(out), code }),
    )
    if (input) child.stdin.end(input)
    else child.stdin.end()
  })
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2
}

function data(size: number): Buffer {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i += 32) createHash('sha256').update(String(i)).digest().copy(b, i)
  return b
}

interface Transfer {
  mbps: number
  peakRssMB: number
  cpuPerMiB: number
}

async function transfer(
  box: Sandbox,
  t: Transport,
  direction: 'up' | 'down',
  size: number,
): Promise<Transfer> {
  const stats = join(dir, `stats-${t}-${direction}.json`)
  const config = writeConfig(`${t}-measured`, proxyCommand(t, stats))
  const env = { ...process.env, ...box.env }
  const payload = data(size)
  const host = 'pi@pi-garage'
  if (direction === 'down') {
    await run('ssh', ['-F', config, host, `head -c ${size} /dev/urandom > blob`], env)
    for (let i = 0; i < 500 && !existsSync(stats); i++) await new Promise((r) => setTimeout(r, 10))
    rmSync(stats, { force: true })
  }
  const r =
    direction === 'up'
      ? await run('ssh', ['-F', config, host, 'cat > blob'], env, payload)
      : await run('ssh', ['-F', config, host, 'cat blob'], env)
  if (r.code !== 0 || (direction === 'down' && r.stdout.length !== size))
    throw new Error(`${t} ${direction} failed (${r.code})`)
  // ssh does not wait for its ProxyCommand to exit: wait for the wrapper's figures
  for (let i = 0; i < 500 && !existsSync(stats); i++) await new Promise((r) => setTimeout(r, 10))
  const s = JSON.parse(readFileSync(stats, 'utf8')) as { peakRssKiB: number; cpuSeconds: number }
  rmSync(stats)
  return {
    mbps: size / MiB / (r.ms / 1000),
    peakRssMB: s.peakRssKiB / 1024,
    cpuPerMiB: s.cpuSeconds / (size / MiB),
  }
}

const fmt = (n: number, digits = 2) => n.toFixed(digits)
const log = (s: string) => process.stdout.write(`${s}\n`)

export async function benchProxy(parts: { setup: boolean; throughput: boolean }): Promise<void> {
  const paced = await startSandbox({ authorizedKeyFile: `${key}.pub`, stateDir: join(dir, 'paced') })
  const unpaced = await startSandbox({
    authorizedKeyFile: `${key}.pub`,
    stateDir: join(dir, 'unpaced'),
    pace: false,
  })
  try {
    if (parts.setup) await benchSetup(paced)
    if (parts.throughput) await benchThroughput(paced, unpaced)
  } finally {
    await paced.close()
    await unpaced.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function benchSetup(paced: Sandbox): Promise<void> {
  // a cache dir of the bench's own: round 0 is the first run after an install (no V8 code cache yet)
  const env: NodeJS.ProcessEnv = { ...process.env, ...paced.env, XDG_CACHE_HOME: join(dir, 'cache') }
  const id = [...paced.state.instances.values()].find((i) => i.tags.get('Name') === 'pi-kitchen')!.id
  const port = await ensureHostPort(paced.state, id)
  const direct = writeConfig('direct', 'none')
  // Node 20 parses its whole root store and the NODE_EXTRA_CA_CERTS file at every start when that
  // variable is set (later Nodes do it on first TLS use): ~40 ms before our first line on this
  // machine, whose environment sets it. The sandbox is plain HTTP, so the row without it is the
  // same work; both are printed.
  const { NODE_EXTRA_CA_CERTS: extraCa, ...envWithoutExtraCa } = env
  const paths: { label: string; config: string; env: NodeJS.ProcessEnv }[] = transports.map((t) => ({
    label: `proxy --transport ${t}`,
    config: writeConfig(t, proxyCommand(t, undefined)),
    env,
  }))
  if (extraCa)
    paths.splice(1, 0, {
      label: 'proxy --transport native, NODE_EXTRA_CA_CERTS unset',
      config: writeConfig('native', proxyCommand('native', undefined)),
      env: envWithoutExtraCa,
    })
  // what `ssm-ssh config --persist` writes: after the first, a connection rides the master's session
  const persisted = writeConfig('persist', proxyCommand('native', undefined), [
    '  ControlMaster auto',
    `  ControlPath ${join(dir, 'cm-%C')}`,
    '  ControlPersist 120',
  ])
  paths.push({
    label: 'proxy --transport native, second connection with config --persist',
    config: persisted,
    env,
  })
  // 20 rounds: over 10, the medians of two runs differed by up to 30 ms on this 2-core machine
  const rounds = 20
  log(`\n## proxy: connection setup, median of ${rounds} × \`ssh host true\``)
  const times = new Map<string, number[]>([
    ['direct', []],
    ...paths.map((p) => [p.label, []] as [string, number[]]),
  ])
  const first = new Map<string, number>()
  // ssh returns before its ProxyCommand has ended the session (TerminateSession): a pause lets that
  // finish, so it does not compete with the next measurement for the machine's two cores.
  const settle = () => new Promise((r) => setTimeout(r, 300))
  for (let i = 0; i < rounds + 1; i++) {
    await settle()
    const d = await run(
      'ssh',
      ['-F', direct, '-o', 'ProxyCommand=none', '-p', String(port), 'pi@127.0.0.1', 'true'],
      env,
    )
    if (i > 0) times.get('direct')?.push(d.ms)
    for (const p of paths) {
      await settle()
      const r = await run('ssh', ['-F', p.config, `pi@${id}`, 'true'], p.env)
      if (r.code !== 0) throw new Error(`ssh through ${p.label} failed`)
      if (i > 0) times.get(p.label)?.push(r.ms)
      else first.set(p.label, r.ms)
    }
  }
  await run('ssh', ['-F', persisted, '-O', 'exit', `pi@${id}`], env)
  const base = median(times.get('direct') as number[])
  log(`| path | median ms | overhead over direct ssh |`)
  log(`| --- | ---: | ---: |`)
  log(`| direct ssh to the same server | ${fmt(base, 0)} | – |`)
  const overhead = new Map<string, number>()
  for (const p of paths) {
    const m = median(times.get(p.label) as number[])
    overhead.set(p.label, m - base)
    log(`| ${p.label} | ${fmt(m, 0)} | ${fmt(m - base, 0)} ms |`)
  }
  const sorted = [...(times.get('direct') as number[])].sort((a, b) => a - b)
  log(
    `direct ssh spread: ${fmt(sorted[0] as number, 0)}–${fmt(sorted.at(-1) as number, 0)} ms (OpenSSH sets TCP_NODELAY only for interactive sessions; a key-exchange packet then waits ~40 ms for a delayed ACK in some connections)`,
  )
  // round 0's first connection wrote the proxy code cache that every later one (plugin too) reads
  log(
    `first connection after an install, before the V8 code cache exists (round 0, not in the medians): ${fmt(first.get(paths[0]?.label as string) as number, 0)} ms`,
  )
  if (plugin)
    log(
      `native setup overhead is ${fmt((overhead.get('proxy --transport plugin') as number) / (overhead.get('proxy --transport native') as number))}× smaller than the plugin's`,
    )
}

async function benchThroughput(paced: Sandbox, unpaced: Sandbox): Promise<void> {
  for (const [label, box, size] of [
    ['agent pacing on (≤1024 B / ~1 ms)', paced, 8 * MiB],
    ['pacing off', unpaced, 32 * MiB],
  ] as const) {
    log(`\n## proxy: throughput, ${label}, ${size / MiB} MiB each way`)
    log('| transport | down MB/s | up MB/s | peak RSS MB (down/up) | CPU s per MiB (down/up) |')
    log('| --- | ---: | ---: | ---: | ---: |')
    const rows: Record<string, { down: Transfer; up: Transfer }> = {}
    for (const t of transports) {
      const down = await transfer(box, t, 'down', size)
      const up = await transfer(box, t, 'up', size)
      rows[t] = { down, up }
      log(
        `| ${t} | ${fmt(down.mbps)} | ${fmt(up.mbps)} | ${fmt(down.peakRssMB, 0)}/${fmt(up.peakRssMB, 0)} | ${fmt(down.cpuPerMiB, 3)}/${fmt(up.cpuPerMiB, 3)} |`,
      )
    }
    if (rows.plugin && rows.native) {
      log(
        `native/plugin: download ${fmt(rows.native.down.mbps / rows.plugin.down.mbps)}×, upload ${fmt(rows.native.up.mbps / rows.plugin.up.mbps)}×`,
      )
    }
  }
}
