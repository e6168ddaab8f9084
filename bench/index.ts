import { benchInventory } from './inventory.bench.ts'
import { benchProxy } from './proxy.bench.ts'

export async function runAll(): Promise<void> {
  process.stdout.write('# ssm-ssh benchmarks (sandbox on 127.0.0.1)\n')
  await benchProxy()
  await benchInventory()
}
