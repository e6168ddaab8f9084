// Soak: real ssh through `ssm-ssh proxy` over a data channel that drops, duplicates and reorders
// frames and is cut every 5 s, on 20 fault seeds; 64 MiB up and 64 MiB down each, sha256 compared, and
// a stall (no progress for 60 s) fails the seed. Opt-in (`npm run bench -- soak`): minutes, not a test.
import { execFileSync, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseFaults } from '../src/sandbox/faults.ts'
import { startSandbox } from '../src/sandbox/sandbox.ts'
import { sshConfigText } from './proxy.bench.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'ssm-ssh.mjs')
const MiB = 1024 * 1024
const FAULTS = 'drop=0.02,dup=0.02,reorder=0.05,disconnect=5s'
const STALL_MS = 60_000

/** ssh HOST COMMAND with `input` on stdin; its stdout's sha256 and size; fails on a stall or an error. */
function sshTransfer(config: string, env: NodeJS.ProcessEnv, command: string, input?: Buffer) {
  return new Promise<{ sha: string; bytes: number; seconds: number; head: string }>(
    (resolvePromise, reject) => {
      const started = performance.now()
      const child = spawn('ssh', ['-F', config, 'pi-kitchen', command], {
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      const hash = createHash('sha256')
      let bytes = 0
      let head = ''
      let stderr = ''
      let last = Date.now()
      const watchdog = setInterval(() => {
        if (Date.now() - last > STALL_MS) {
          child.kill('SIGKILL')
          reject(new Error(`stalled: no progress for ${STALL_MS / 1000} s after ${bytes} bytes`))
        }
      }, 1_000)
      child.stdout.on('data', (d: Buffer) => {
        last = Date.now()
        if (bytes < 256) head += d.subarray(0, 256 - bytes).toString()
        bytes += d.length
        hash.update(d)
      })
      child.stderr.on('data', (d: Buffer) => {
        stderr += d
      })
      if (input) {
        // progress on upload: each chunk the pipe takes
        let offset = 0
        const pump = () => {
          while (offset < input.length) {
            const piece = input.subarray(offset, offset + MiB)
            offset += piece.length
            last = Date.now()
            if (!child.stdin.write(piece)) {
              child.stdin.once('drain', pump)
              return
            }
          }
          child.stdin.end()
        }
        pump()
      } else child.stdin.end()
      child.once('exit', (code) => {
        clearInterval(watchdog)
        if (code !== 0) reject(new Error(`ssh exited ${code}: ${stderr.trim().split('\n').at(-1)}`))
        else
          resolvePromise({
            sha: hash.digest('hex'),
            bytes,
            head,
            seconds: (performance.now() - started) / 1000,
          })
      })
    },
  )
}

export async function benchSoak(seeds = 20, size = 64 * MiB): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`)
  log(
    `\n## soak: ${FAULTS}, ${seeds} seeds, ${size / MiB} MiB up and down each, real ssh through ssm-ssh proxy`,
  )
  log('| seed | upload s | download s | resumes | result |')
  log('| ---: | ---: | ---: | ---: | --- |')
  const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-soak-'))
  const key = join(dir, 'id_ed25519')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
  const data = randomBytes(size)
  const want = createHash('sha256').update(data).digest('hex')
  let failed = 0
  try {
    for (let seed = 1; seed <= seeds; seed++) {
      const box = await startSandbox({
        fleet: 12,
        seed,
        faults: parseFaults(FAULTS),
        pace: false,
        stateDir: join(dir, `sandbox-${seed}`),
        authorizedKeyFile: `${key}.pub`,
      })
      const config = join(dir, `ssh_config-${seed}`)
      writeFileSync(config, sshConfigText(`"${process.execPath}" "${cli}" proxy %h %p`, key, ['  User pi']))
      const env = { ...process.env, ...box.env, HOME: dir }
      let result = 'ok'
      let up = { seconds: Number.NaN }
      let down = { seconds: Number.NaN }
      try {
        const u = await sshTransfer(config, env, 'cat > blob && sha256sum blob', data)
        up = u
        const d = await sshTransfer(config, env, 'cat blob')
        down = d
        // the upload's stdout is the remote sha256sum line
        const remote = u.head.split(' ')[0]
        if (remote !== want) result = `upload sha256 differs (${remote})`
        else if (d.sha !== want || d.bytes !== size) result = `download sha256 differs (${d.bytes} bytes)`
      } catch (error) {
        result = (error as Error).message
      }
      if (result !== 'ok') failed++
      const resumes = box.state.requests.filter(
        (r) => r.operation === 'ResumeSession' && r.status === 200,
      ).length
      log(`| ${seed} | ${up.seconds.toFixed(1)} | ${down.seconds.toFixed(1)} | ${resumes} | ${result} |`)
      await box.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  log(`${seeds - failed} of ${seeds} seeds moved ${size / MiB} MiB each way intact`)
}
