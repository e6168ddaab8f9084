// Port forwarding, side by side in one run against the sandbox (agent pacing on): one forward session
// to an HTTP server on an instance's port, `ssm-ssh forward` against the official plugin's smux
// forwarding (`aws ssm start-session --document-name AWS-StartPortForwardingSession`): 50 concurrent
// HTTP/1.1 requests of 64 KiB, one 8 MiB download, latency, peak RSS, and the cost of one more stream.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, get } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm'
import { type Sandbox, startSandbox } from '../src/sandbox/sandbox.ts'
import { findPlugin } from './proxy.bench.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'ssm-ssh.mjs')
const measure = join(root, 'bench', 'measure-tree.mjs')
const MiB = 1024 * 1024
const REMOTE_PORT = 8080
const CONCURRENT = 50
const ROUNDS = 3

/** The instance's web server: /64k and /8m answer that many random bytes, /1 one byte. */
async function startWebServer(): Promise<{ port: number; close(): void }> {
  const bodies: Record<string, Buffer> = {
    '/1': randomBytes(1),
    '/64k': randomBytes(64 * 1024),
    '/8m': randomBytes(8 * MiB),
  }
  const server = createServer((req, res) => {
    const body = bodies[req.url ?? ''] ?? Buffer.alloc(0)
    res.writeHead(body.length ? 200 : 404, { 'Content-Length': body.length })
    res.end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return { port: (server.address() as AddressInfo).port, close: () => server.close() }
}

/** GET on a new TCP connection (so a new smux stream); ms from request to last byte. */
function fetchOnce(port: number, path: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let bytes = 0
      res.on('data', (c: Buffer) => {
        bytes += c.length
      })
      res.on('end', () => resolve({ ms: performance.now() - started, bytes }))
      res.on('error', reject)
    })
    req.setTimeout(120_000, () => req.destroy(new Error('timed out')))
    req.on('error', reject)
  })
}

interface Forwarder {
  port: number
  stop(): Promise<{ peakRssMB: number }>
}

async function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  let text = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no port after 20 s: ${text}`)), 20_000)
    const onData = (d: Buffer) => {
      text += d.toString()
      const m = pattern.exec(text)
      if (m) {
        clearTimeout(timer)
        resolve(m)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${text}`)))
  })
}

function stopper(child: ChildProcess, stats: string): () => Promise<{ peakRssMB: number }> {
  return async () => {
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGINT')
    await exited
    const s = JSON.parse(readFileSync(stats, 'utf8')) as { peakRssKiB: number }
    rmSync(stats, { force: true })
    return { peakRssMB: s.peakRssKiB / 1024 }
  }
}

async function startOurs(box: Sandbox, dir: string, target: string): Promise<Forwarder> {
  const stats = join(dir, 'stats-ssm-ssh.json')
  const child = spawn(
    process.execPath,
    [
      measure,
      stats,
      '--',
      process.execPath,
      cli,
      'forward',
      target,
      '-L',
      `0:localhost:${REMOTE_PORT}`,
      '--json',
    ],
    { env: { ...process.env, ...box.env, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const m = await waitForLine(child, /"listen":"127\.0\.0\.1:(\d+)"/, 'ssm-ssh forward')
  return { port: Number(m[1]), stop: stopper(child, stats) }
}

async function startPlugin(box: Sandbox, dir: string, plugin: string, target: string): Promise<Forwarder> {
  const ssm = new SSMClient({
    endpoint: box.endpoint,
    region: box.region,
    credentials: { accessKeyId: box.accessKeyId, secretAccessKey: box.secretAccessKey },
  })
  const request = {
    Target: target,
    DocumentName: 'AWS-StartPortForwardingSession',
    Parameters: { portNumber: [String(REMOTE_PORT)], localPortNumber: ['0'] },
  }
  const { $metadata: _, ...response } = await ssm.send(new StartSessionCommand(request))
  const stats = join(dir, 'stats-plugin.json')
  const child = spawn(
    process.execPath,
    [
      measure,
      stats,
      '--',
      plugin,
      JSON.stringify(response),
      box.region,
      'StartSession',
      '',
      JSON.stringify(request),
      box.endpoint,
    ],
    { env: { ...process.env, ...box.env, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const m = await waitForLine(child, /Port (\d+) opened/, 'session-manager-plugin')
  return { port: Number(m[1]), stop: stopper(child, stats) }
}

/** The AWS CLI on PATH (`aws`), if any: users start the plugin's port forwarding through it. */
function findAwsCli(): string | undefined {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore', timeout: 20_000 })
    return 'aws'
  } catch {
    return undefined
  }
}

/**
 * `aws ssm start-session … --document-name AWS-StartPortForwardingSession`, as users run the plugin's
 * forwarding: the AWS CLI stays alive beside the plugin for the whole session, so both count.
 */
async function startAwsCli(box: Sandbox, dir: string, plugin: string, target: string): Promise<Forwarder> {
  const stats = join(dir, 'stats-aws-cli.json')
  const child = spawn(
    process.execPath,
    [
      measure,
      stats,
      '--group',
      '--',
      'aws',
      'ssm',
      'start-session',
      '--target',
      target,
      '--document-name',
      'AWS-StartPortForwardingSession',
      '--parameters',
      JSON.stringify({ portNumber: [String(REMOTE_PORT)], localPortNumber: ['0'] }),
      '--endpoint-url',
      box.endpoint,
      '--region',
      box.region,
    ],
    {
      env: { ...process.env, ...box.env, HOME: dir, PATH: `${dirname(plugin)}:${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const m = await waitForLine(child, /Port (\d+) opened/, 'aws ssm start-session')
  return { port: Number(m[1]), stop: stopper(child, stats) }
}

interface Row {
  name: string
  rps: number
  p50: number
  p99: number
  mbps: number
  openMs: number
  peakRssMB: number
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0
const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  )

async function measureForwarder(name: string, f: Forwarder): Promise<Row> {
  // warm up: the first stream, and the sshd-less web server's first answer
  await fetchOnce(f.port, '/1')
  const opens: number[] = []
  for (let i = 0; i < 20; i++) opens.push((await fetchOnce(f.port, '/1')).ms)
  const latencies: number[] = []
  const started = performance.now()
  for (let round = 0; round < ROUNDS; round++) {
    const results = await Promise.all(Array.from({ length: CONCURRENT }, () => fetchOnce(f.port, '/64k')))
    for (const r of results) {
      if (r.bytes !== 64 * 1024) throw new Error(`${name}: a 64 KiB answer came back with ${r.bytes} bytes`)
      latencies.push(r.ms)
    }
  }
  const seconds = (performance.now() - started) / 1000
  const big = await fetchOnce(f.port, '/8m')
  if (big.bytes !== 8 * MiB) throw new Error(`${name}: the 8 MiB answer came back with ${big.bytes} bytes`)
  const { peakRssMB } = await f.stop()
  latencies.sort((a, b) => a - b)
  return {
    name,
    rps: (CONCURRENT * ROUNDS) / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    mbps: 8 / (big.ms / 1000),
    openMs: median(opens),
    peakRssMB,
  }
}

export async function benchForward(): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`)
  const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-bench-forward-'))
  const web = await startWebServer()
  const box = await startSandbox({ fleet: 12, stateDir: join(dir, 'sandbox') })
  try {
    const instance = [...box.state.instances.values()].find((i) => i.tags.get('Name') === 'pi-kitchen')
    if (!instance) throw new Error('no pi-kitchen in the sandbox')
    instance.extraPorts = new Map([[REMOTE_PORT, web.port]])
    const rows: Row[] = [await measureForwarder('ssm-ssh forward', await startOurs(box, dir, instance.id))]
    const plugin = findPlugin()
    if (plugin)
      rows.push(
        await measureForwarder('session-manager-plugin', await startPlugin(box, dir, plugin, instance.id)),
      )
    const aws = plugin ? findAwsCli() : undefined
    if (plugin && aws)
      rows.push(
        await measureForwarder(
          'aws ssm start-session (AWS CLI + plugin)',
          await startAwsCli(box, dir, plugin, instance.id),
        ),
      )
    log('\n## forward: one session, agent pacing on')
    log(
      `${CONCURRENT} concurrent GETs of 64 KiB × ${ROUNDS} rounds, then one 8 MiB GET; "one more stream" = a new connection and a 1-byte GET, median of 20`,
    )
    log('| forwarder | requests/s | p50 ms | p99 ms | 8 MiB MB/s | one more stream ms | peak RSS MB |')
    log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    const fmt = (n: number, digits = 1) => n.toFixed(digits)
    for (const r of rows)
      log(
        `| ${r.name} | ${fmt(r.rps)} | ${fmt(r.p50, 0)} | ${fmt(r.p99, 0)} | ${fmt(r.mbps, 2)} | ${fmt(r.openMs)} | ${fmt(r.peakRssMB, 0)} |`,
      )
    const [ours, ...theirs] = rows as [Row, ...Row[]]
    for (const other of theirs)
      log(
        `ssm-ssh / ${other.name}: requests/s ${fmt(ours.rps / other.rps, 2)}×, MB/s ${fmt(ours.mbps / other.mbps, 2)}×, peak RSS ${fmt(ours.peakRssMB / other.peakRssMB, 2)}×`,
      )
    if (!plugin) log('(the official plugin is not installed here: no side-by-side row)')
    else if (!aws) log('(no AWS CLI on PATH: no row for the plugin as `aws ssm start-session` runs it)')
  } finally {
    await box.close()
    web.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
