import { benchConfig } from './config.bench.ts'
import { benchDoctor } from './doctor.bench.ts'
import { benchForward } from './forward.bench.ts'
import { benchInventory } from './inventory.bench.ts'
import { benchProxy } from './proxy.bench.ts'
import { benchRun } from './run.bench.ts'
import { benchSoak } from './soak.bench.ts'

/** The suites to run: all of them, or those named (npm run bench -- setup throughput inventory forward run). */
export const SUITES = [
  'setup',
  'throughput',
  'inventory',
  'config',
  'forward',
  'run',
  'doctor',
  'soak',
] as const
/** Minutes long: only when named. */
const OPT_IN = new Set<string>(['soak'])

export async function runAll(names: string[]): Promise<void> {
  const unknown = names.filter((n) => !(SUITES as readonly string[]).includes(n))
  if (unknown.length > 0)
    throw new Error(`unknown bench suite ${unknown.join(', ')}; the suites: ${SUITES.join(', ')}`)
  const on = (suite: (typeof SUITES)[number]) =>
    names.includes(suite) || (names.length === 0 && !OPT_IN.has(suite))
  process.stdout.write('# ssm-ssh benchmarks (sandbox on 127.0.0.1)\n')
  if (on('setup') || on('throughput')) await benchProxy({ setup: on('setup'), throughput: on('throughput') })
  if (on('inventory')) await benchInventory()
  if (on('config')) await benchConfig()
  if (on('forward')) await benchForward()
  if (on('run')) await benchRun()
  if (on('doctor')) await benchDoctor()
  if (on('soak'))
    await benchSoak(Number(process.env.SOAK_SEEDS ?? 20), Number(process.env.SOAK_MIB ?? 64) * 1024 * 1024)
}
