// Setting the caller's policy on a sandbox (startSandbox's iamPolicy, sandbox --iam-policy, tests
// that change it while the sandbox runs). A policy IAM would refuse is a usage error here.
import { UsageError } from '../../support/errors.ts'
import type { SandboxState } from '../model.ts'
import { PolicyError, parsePolicy } from './policy.ts'

/** Parses `policy` (JSON text or object) and makes it the caller's; undefined allows everything again. */
export function useCallerPolicy(
  state: SandboxState,
  policy: string | object | undefined,
  source = 'the IAM policy',
): void {
  if (policy === undefined) {
    delete state.callerPolicy
    return
  }
  try {
    state.callerPolicy = parsePolicy(typeof policy === 'string' ? policy : JSON.stringify(policy, null, 2))
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error
    throw new UsageError(`${source} is not a valid IAM policy: ${error.message}`, {
      hint: 'ssm-ssh policy prints one to start from',
      cause: error,
    })
  }
}
