// run --via ssh: the same fan-out over parallel ssh sessions through our ProxyCommand (as the ssh
// user, whole output), --parallel at a time. Ctrl-C ends the sessions still running.
import type { Context } from '../../cli/command.ts'
import type { Instance } from '../../domain/instance.ts'
import { notRun } from '../../domain/run/results.ts'
import { shellQuote } from '../../domain/shell-quote.ts'
import { mapPool } from '../../support/pool.ts'
import type { RunReport } from '../../ui/run-report.ts'
import { globalProxyArgs } from '../aws-context.ts'
import type { RunOptions } from '../run.ts'

/** Returns true when Ctrl-C cancelled the run. */
export async function fanOutSsh(
  instances: Instance[],
  options: RunOptions,
  ctx: Context,
  report: RunReport,
): Promise<boolean> {
  const { runRemote } = await import('../../ssh/run-remote.ts')
  const command = options.workingDir
    ? `cd ${shellQuote(options.workingDir)} && ${options.command}`
    : options.command
  // Nobody can answer a host-key prompt for fifty hosts at once: keys never seen are taken and kept
  // (the session reached the instance id through SSM, signed by the caller's AWS credentials), a
  // changed one still fails; -o StrictHostKeyChecking=… decides otherwise.
  const ownKeyPolicy = options.sshOptions.some((o) => /^stricthostkeychecking\b/i.test(o))
  const sshArgs = [
    ...(ownKeyPolicy ? [] : ['-o', 'StrictHostKeyChecking=accept-new']),
    ...options.sshOptions.flatMap((o) => ['-o', o]),
    ...(options.identity ? ['-i', options.identity] : []),
    ...(options.user ? ['-l', options.user] : []),
  ]
  const tick = setInterval(() => report.tick(), 250)
  try {
    await mapPool(instances, options.parallel, async (instance) => {
      if (ctx.signal.aborted) {
        report.result(notRun(instance, 'Cancelled', 'not started'))
        return
      }
      const r = await runRemote(instance.id, command, {
        executable: ctx.executable,
        globalArgs: globalProxyArgs(ctx),
        sshArgs,
        timeoutMs: options.timeoutSeconds * 1000,
        signal: ctx.signal,
      })
      report.result({
        id: instance.id,
        name: instance.name,
        status: r.cancelled ? 'Cancelled' : r.timedOut ? 'TimedOut' : r.exitCode === 0 ? 'Success' : 'Failed',
        exitCode: r.cancelled || r.timedOut ? null : r.exitCode,
        stdout: r.stdout,
        stderr: r.stderr,
        truncated: false,
        ...(r.exitCode === 255 && !r.cancelled && !r.timedOut
          ? { detail: 'ssh exits 255 when it cannot connect' }
          : {}),
      })
    })
  } finally {
    clearInterval(tick)
  }
  return ctx.signal.aborted
}
