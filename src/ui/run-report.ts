// What `run` prints as hosts finish: each line of a host's stdout on our stdout and of its stderr on
// our stderr, behind "<name>\t" (parallel --tag's shape, so cut -f2- gives the bare output); a status
// line on stderr for every host that did not succeed; with --json one object per host (JSON Lines)
// on stdout instead. On a terminal a progress line (done / failed / pending, elapsed) stays at the
// bottom of stderr. Everything from the cloud passes through terminalSafe first.
import type { HostResult, HostStatus } from '../domain/run/results.ts'
import type { Io } from '../support/io.ts'
import { prefixLines, safeLabel } from '../support/terminal-text.ts'
import type { Colors } from './color.ts'

const SAYS: Record<HostStatus, string> = {
  Success: 'ok',
  Failed: 'failed',
  TimedOut: 'timed out (--timeout)',
  DeliveryTimedOut: 'delivery timed out: the agent never picked the command up',
  Undeliverable: 'undeliverable: the node is gone or its agent does not answer',
  InvalidPlatform: 'the document does not run on this platform (--document)',
  Cancelled: 'cancelled',
  Terminated: 'not run: more hosts failed than --max-errors allows',
  Offline: 'offline, not sent',
  TooOld: 'agent too old, not sent',
}

export interface RunReportOptions {
  io: Io
  json: boolean
  colors: Colors
  /** milliseconds since the run started */
  elapsed(): number
  /** hosts the run covers, for the progress line */
  total: number
}

export interface RunReport {
  /** a host has finished (or was set aside): print it */
  result(r: HostResult): void
  /** hosts the run covers, once the service has expanded a tag */
  setTotal(total: number): void
  /** redraw the progress line (a terminal only) */
  tick(): void
  /** take the progress line away before the summary */
  end(): void
  readonly results: HostResult[]
}

/** "exit 3", "timed out (--timeout)", … for the status line of a host that did not succeed. */
export function describeOutcome(r: HostResult): string {
  const code = r.exitCode !== null && r.exitCode >= 0 && r.status !== 'Success' ? `exit ${r.exitCode}, ` : ''
  const text = r.status === 'Failed' && code ? code.slice(0, -2) : `${code}${SAYS[r.status]}`
  return r.detail ? `${text}: ${safeLabel(r.detail)}` : text
}

export function createRunReport(options: RunReportOptions): RunReport {
  const { io, colors: c } = options
  const results: HostResult[] = []
  let total = options.total
  const live = io.isStderrTTY
  let drawn = false
  const clear = () => {
    if (drawn) io.stderr.write('\r\u001b[K')
    drawn = false
  }
  const draw = () => {
    if (!live) return
    const failed = results.filter((r) => r.status !== 'Success').length
    const done = results.length - failed
    const pending = Math.max(0, total - results.length)
    const secs = (options.elapsed() / 1000).toFixed(1)
    clear()
    io.stderr.write(
      c.dim(
        `${done} done · ${failed ? c.red(`${failed} failed`) : '0 failed'} · ${pending} pending · ${secs}s`,
      ),
    )
    drawn = true
  }
  return {
    results,
    result(r) {
      results.push(r)
      clear()
      const label = safeLabel(r.name || r.id)
      if (options.json) {
        io.stdout.write(`${JSON.stringify(toJson(r))}\n`)
      } else {
        io.stdout.write(prefixLines(`${label}\t`, r.stdout))
        io.stderr.write(prefixLines(`${c.dim(label)}\t`, r.stderr))
        if (r.status !== 'Success') io.stderr.write(`${c.dim(label)}\t${c.red(`[${describeOutcome(r)}]`)}\n`)
        if (r.truncated)
          io.stderr.write(
            `${c.dim(label)}\t${c.yellow('[output truncated by Run Command (24,000 characters of stdout, 8,000 of stderr); --output-s3-bucket or --cloudwatch-output keep all of it]')}\n`,
          )
      }
      draw()
    },
    setTotal(n) {
      total = n
    },
    tick: draw,
    end: clear,
  }
}

function toJson(r: HostResult) {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    truncated: r.truncated,
    ...(r.detail ? { detail: r.detail } : {}),
  }
}
