// The Run Command fan-out against the in-process sandbox (the real SDK, simulated hosts running real
// scripts): --max-errors counted across several SendCommand calls, and a cancelled run leaves nothing
// running.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAwsClients } from '../../aws/clients.ts'
import type { Context } from '../../cli/command.ts'
import type { Instance } from '../../domain/instance.ts'
import { planRun } from '../../domain/run/plan.ts'
import { type Sandbox, startSandbox } from '../../sandbox/sandbox.ts'
import { testIo } from '../../support/io.ts'
import { silentLog } from '../../support/log.ts'
import { colors } from '../../ui/color.ts'
import { createRunReport } from '../../ui/run-report.ts'
import { parse } from '../run.ts'
import { fanOutRunCommand } from './via-run-command.ts'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = '1'

let box: Sandbox
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssm-ssh-fan-out-'))
  box = await startSandbox({ fleet: 90, stateDir: join(dir, 'sandbox') })
})
afterAll(async () => {
  await box.close()
  await rm(dir, { recursive: true, force: true })
})

function context(signal: AbortSignal): Context {
  return {
    io: testIo(),
    log: silentLog,
    env: { USER: 'tester' },
    signal,
    now: () => new Date(),
    global: { debug: false, verbose: false, quiet: true },
    paths: { home: dir, sshDir: join(dir, '.ssh'), cacheDir: dir, stateDir: join(dir, 'state') },
    executable: { node: process.execPath, script: '/nonexistent' },
  }
}

/** The sandbox's online instances as the inventory would list them. */
const online = (n: number): Instance[] =>
  [...box.state.instances.values()]
    .filter((i) => i.pingStatus === 'Online')
    .slice(0, n)
    .map((i) => ({
      id: i.id,
      name: i.tags.get('Name') ?? i.id,
      computerName: i.computerName,
      ipAddress: i.ipAddress,
      pingStatus: 'Online',
      platform: `${i.platformName} ${i.platformVersion}`,
      agentVersion: i.agentVersion,
      resourceType: i.resourceType,
      tags: Object.fromEntries(i.tags),
    }))

async function fanOut(argv: string[], instances: Instance[], abortAfterMs?: number) {
  const options = parse(['x', ...argv])
  const plan = planRun({
    instances,
    minAgent: '',
    maxConcurrency: options.maxConcurrency,
    maxErrors: options.maxErrors,
  })
  const controller = new AbortController()
  if (abortAfterMs !== undefined) setTimeout(() => controller.abort(), abortAfterMs)
  const ctx = context(controller.signal)
  const report = createRunReport({
    io: ctx.io,
    json: true,
    colors: colors(false),
    elapsed: () => 0,
    total: instances.length,
  })
  const clients = createAwsClients({
    endpoint: box.endpoint,
    region: box.region,
    credentials: { accessKeyId: box.accessKeyId, secretAccessKey: box.secretAccessKey },
  })
  const from = box.state.requests.length
  const cancelled = await fanOutRunCommand(plan, options, ctx, clients, report, instances)
  const calls = (op: string) => box.state.requests.slice(from).filter((r) => r.operation === op).length
  return { plan, cancelled, results: report.results, calls }
}

describe('fanOutRunCommand', () => {
  it('counts --max-errors across its SendCommand calls and cancels the others once it is passed', async () => {
    const hosts = online(70)
    // one failure in each call is within each call's MaxErrors, but two in all pass the run's
    const r = await fanOut(['--max-concurrency', '2', '--max-errors', '1', '--', 'sleep 1; exit 2'], hosts)
    expect(r.plan.sends.map((s) => [s.instanceIds.length, s.maxConcurrency, s.maxErrors])).toEqual([
      [50, '1', '1'],
      [20, '1', '1'],
    ])
    expect(r.results).toHaveLength(70)
    const failed = r.results.filter((x) => x.status === 'Failed')
    // the calls alone would stop at their second failure each (4); the run stops them at its second
    expect(failed.length).toBeGreaterThanOrEqual(2)
    expect(failed.length).toBeLessThan(4)
    expect(failed.every((x) => x.exitCode === 2)).toBe(true)
    expect(r.results.filter((x) => x.status === 'Terminated' || x.status === 'Cancelled')).toHaveLength(
      70 - failed.length,
    )
    expect(r.calls('CancelCommand')).toBeGreaterThan(0)
    expect(r.cancelled).toBe(false)
  })

  it('Ctrl-C: CancelCommand, then every host reported and none left running', async () => {
    const hosts = online(12)
    const before = box.state.commands.size
    const r = await fanOut(['--max-concurrency', '3', '--', 'sleep 20'], hosts, 1_500)
    expect(r.cancelled).toBe(true)
    expect(r.results.map((x) => x.status)).toEqual(Array(12).fill('Cancelled'))
    const invocations = [...box.state.commands.values()]
      .slice(before)
      .flatMap((c) => [...c.invocations.values()])
    expect(invocations.filter((i) => !['Cancelled', 'Success', 'Failed'].includes(i.status))).toEqual([])
  })
})
