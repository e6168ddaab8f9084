// How the SSM agent trims what a Run Command plugin printed, so the simulated agent reports what the
// real one would (amazon-ssm-agent: plugins/pluginutil StringPrefix, framework/runpluginutil, and
// executer/iohandler TruncateOutput). Lengths are bytes, as Go's len() counts them.

/** stdout and stderr each: the agent keeps 24,000 bytes, the last 20 of them this suffix. */
export const STREAM_LIMIT = 24_000
export const STREAM_TRUNCATED_SUFFIX = '--output truncated--'
/** ListCommandInvocations' plugin Output: stdout and stderr in 2,500 bytes. */
export const PLUGIN_OUTPUT_LIMIT = 2_500
const ERROR_TITLE = '\n----------ERROR-------\n'
const OUTPUT_TRUNCATED = '\n---Output truncated---'
const ERROR_TRUNCATED = '\n---Error truncated----'

const bytes = (s: string) => Buffer.byteLength(s)
const head = (s: string, n: number) => Buffer.from(s).subarray(0, Math.max(0, n)).toString('utf8')

/** StringPrefix: unchanged below the limit, else cut so that it ends with the suffix. */
export function stringPrefix(
  input: string,
  maxLength = STREAM_LIMIT,
  suffix = STREAM_TRUNCATED_SUFFIX,
): string {
  if (bytes(input) < maxLength) return input
  return head(input, maxLength - bytes(suffix)) + suffix
}

/** TruncateOutput: stdout, the error title and stderr in `capacity` bytes, trimmed as the agent does. */
export function truncateOutput(stdout: string, stderr: string, capacity = PLUGIN_OUTPUT_LIMIT): string {
  const out = bytes(stdout)
  const err = bytes(stderr)
  const title = err > 0 ? ERROR_TITLE : ''
  const space = capacity - bytes(title)
  if (out + err < space) return stdout + title + stderr
  const half = Math.floor(space / 2)
  if (out > half && err > half) {
    const size = space - bytes(ERROR_TRUNCATED) - bytes(OUTPUT_TRUNCATED)
    return (
      head(stdout, Math.floor(size / 2)) +
      OUTPUT_TRUNCATED +
      title +
      head(stderr, Math.floor(size / 2)) +
      ERROR_TRUNCATED
    )
  }
  if (out <= half) {
    const size = space - bytes(ERROR_TRUNCATED)
    return stdout + title + head(stderr, size - out) + ERROR_TRUNCATED
  }
  const size = space - bytes(OUTPUT_TRUNCATED)
  return head(stdout, size - err) + OUTPUT_TRUNCATED + title + stderr
}
