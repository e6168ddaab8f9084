// doctor's time to diagnose one target on the sandbox (issue 17: ≤ 5 s): the built CLI, every check
// (caller, clock, OpenSSH, the service's view, IAM, the host script through Run Command) on one real
// instance — AWS's own agent — or, where real instances cannot run, a simulated one. Five runs, median.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startSandbox } from '../src/sandbox/sandbox.ts'
import { envFor } from './run.bench.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'ssm-ssh.mjs')
const RUNS = 5

export async function benchDoctor(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-bench-doctor-'))
  const box = await startSandbox({ real: 1, stateDir: join(dir, 'sandbox') })
  try {
    const kind = box.real.size > 0 ? 'real (amazon-ssm-agent)' : `simulated (${box.realUnavailable})`
    const env = envFor(box, dir)
    const times: number[] = []
    for (let n = 0; n < RUNS; n++) {
      const started = performance.now()
      await promisify(execFile)(process.execPath, [cli, 'doctor', '--json', 'pi-kitchen'], { env }).catch(
        (error: { code?: number }) => {
          // 10/11: findings (the bench's $HOME has no ssh config): still a full diagnosis
          if (error.code !== 10 && error.code !== 11) throw error
        },
      )
      times.push(performance.now() - started)
    }
    times.sort((a, b) => a - b)
    const median = times[Math.floor(RUNS / 2)] as number
    process.stdout.write(
      `\n## doctor\none ${kind} target, ${RUNS} runs: median ${(median / 1000).toFixed(2)} s (min ${((times[0] as number) / 1000).toFixed(2)} s, max ${((times.at(-1) as number) / 1000).toFixed(2)} s); target ≤ 5 s\n`,
    )
  } finally {
    await box.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
