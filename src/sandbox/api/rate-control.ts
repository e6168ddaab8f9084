// SendCommand's MaxConcurrency and MaxErrors: a count, or a percentage of the command's targets
// (aws-api-notes.md §2.7). "10%" of 50 targets allows 5 errors and stops at the sixth, as the
// MaxErrors documentation's example says; how AWS rounds a fraction is not documented [U]: the sandbox
// rounds errors down and concurrency up, with at least one node running.

export const MAX_CONCURRENCY = /^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/
export const MAX_ERRORS = /^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/

function share(value: string, targets: number, round: (n: number) => number): number {
  return value.endsWith('%') ? round((Number(value.slice(0, -1)) / 100) * targets) : Number(value)
}

/** How many invocations may run at once. */
export function concurrencyLimit(value: string, targets: number): number {
  return Math.max(1, share(value, targets, Math.ceil))
}

/** How many failed invocations are tolerated; one more stops the command sending to the rest. */
export function errorLimit(value: string, targets: number): number {
  return share(value, targets, Math.floor)
}
