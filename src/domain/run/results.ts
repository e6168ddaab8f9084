// One host's outcome of `run`, from what Run Command reports (Status + StatusDetails, aws-api-notes.md
// §2.8–§2.9) or from why it was never sent; and the exit code of the whole run.

export type HostStatus =
  | 'Success'
  | 'Failed'
  | 'TimedOut'
  | 'DeliveryTimedOut'
  | 'Undeliverable'
  | 'InvalidPlatform'
  | 'Cancelled'
  | 'Terminated'
  | 'Offline'
  | 'TooOld'

export interface HostResult {
  id: string
  name: string
  status: HostStatus
  /** the command's exit code; null when it never ran */
  exitCode: number | null
  stdout: string
  stderr: string
  /** the service kept only the first 24,000 (stdout) / 8,000 (stderr) characters */
  truncated: boolean
  /** why, for people: "offline (ConnectionLost, last seen 2h ago)" */
  detail?: string
}

/** A host whose command never ran (or whose end nobody reported): no exit code, no output. */
export function notRun(
  instance: { id: string; name: string },
  status: HostStatus,
  detail: string,
): HostResult {
  return {
    id: instance.id,
    name: instance.name,
    status,
    exitCode: null,
    stdout: '',
    stderr: '',
    truncated: false,
    detail,
  }
}

/** Statuses after which an invocation changes no more. */
export const FINISHED = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled'])

export function hostStatus(status: string, details: string): HostStatus {
  if (status === 'Success') return 'Success'
  if (details === 'Undeliverable') return 'Undeliverable'
  if (details === 'InvalidPlatform' || details === 'Invalid Platform') return 'InvalidPlatform'
  if (details === 'Delivery Timed Out') return 'DeliveryTimedOut'
  if (details === 'Terminated') return 'Terminated'
  if (status === 'TimedOut') return 'TimedOut'
  if (status === 'Cancelled') return 'Cancelled'
  return 'Failed'
}

/** Never ran on the host: nothing of the command touched it. */
export const NOT_REACHED = new Set<HostStatus>(['Offline', 'TooOld', 'Undeliverable', 'DeliveryTimedOut'])

// amazon-ssm-agent iohandler: how it joins and trims stdout and stderr into the 2,500-byte Output
const ERROR_TITLE = '\n----------ERROR-------\n'
const TRUNCATED = ['\n---Output truncated---', '\n---Error truncated----']
/** and StringPrefix's suffix on a stream it cut at 24,000 bytes */
const STREAM_TRUNCATED = '--output truncated--'
export const STDOUT_LIMIT = 24_000
export const STDERR_LIMIT = 8_000

/**
 * stdout and stderr from ListCommandInvocations' plugin Output when it holds them whole; undefined
 * when the agent trimmed it (or stdout itself holds the error title), then GetCommandInvocation has them.
 */
export function splitPluginOutput(output: string): { stdout: string; stderr: string } | undefined {
  if (TRUNCATED.some((t) => output.includes(t))) return undefined
  const at = output.indexOf(ERROR_TITLE)
  if (at < 0) return { stdout: output, stderr: '' }
  if (output.indexOf(ERROR_TITLE, at + 1) >= 0) return undefined
  return { stdout: output.slice(0, at), stderr: output.slice(at + ERROR_TITLE.length) }
}

/** The agent cut a stream (its suffix), or the service kept only its first characters. */
export function isTruncated(stdout: string, stderr: string): boolean {
  return (
    stdout.endsWith(STREAM_TRUNCATED) ||
    stderr.endsWith(STREAM_TRUNCATED) ||
    stdout.length >= STDOUT_LIMIT ||
    stderr.length >= STDERR_LIMIT
  )
}

/**
 * 0 when every host succeeded. One host whose command failed: its own exit code, as ssh passes it on. Else:
 * 1 when the command failed anywhere (non-zero exit, timed out, stopped by MaxErrors, wrong platform),
 * 4 when it succeeded wherever it ran but some hosts were never reached (offline, agent too old,
 * undeliverable, delivery timed out), 130 when cancelled.
 */
export function runExitCode(results: HostResult[]): number {
  if (results.every((r) => r.status === 'Success')) return 0
  if (results.some((r) => r.status === 'Cancelled')) return 130
  const [only] = results
  if (results.length === 1 && only?.status === 'Failed' && only.exitCode !== null && only.exitCode > 0)
    return Math.min(only.exitCode, 255)
  if (results.some((r) => r.status !== 'Success' && !NOT_REACHED.has(r.status))) return 1
  return 4
}
