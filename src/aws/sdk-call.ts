// Two small helpers for adapters that handle some SDK errors themselves and translate the rest.
import { translateAwsError } from './errors.ts'

/** The SDK error's code (its name), read here at the adapter edge, never in commands. */
export function errorCode(error: unknown): string {
  return (error as { name?: string } | undefined)?.name ?? ''
}

/** fn(), its SDK errors translated into ours (aws/errors.ts) naming the operation. */
export async function callAws<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    throw translateAwsError(error, { operation })
  }
}
