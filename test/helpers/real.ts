// Real instances in tests: AWS's own amazon-ssm-agent in namespaces (sandbox --real). They need root,
// Linux and the agent binaries; without them the tests report themselves skipped with the reason —
// except under CI, which always has them, where a missing prerequisite fails the run.
import { describe, it } from 'vitest'
import { defaultAgentBinDir, realInstancesUnavailable } from '../../src/sandbox/real/prerequisites.ts'

export const realUnavailable: string | undefined = realInstancesUnavailable(defaultAgentBinDir())

/** describe() when real instances can run; otherwise one skipped (or, under CI, failing) test naming why. */
export function describeReal(name: string, body: () => void): void {
  if (!realUnavailable) {
    describe(name, body)
    return
  }
  describe(name, () => {
    if (process.env.CI === 'true') {
      it('has its prerequisites under CI', () => {
        throw new Error(`real instances are unavailable under CI: ${realUnavailable}`)
      })
    } else {
      it.skip(`skipped: ${realUnavailable}`, () => {})
    }
  })
}
