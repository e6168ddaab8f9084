// Ten Pis enrolled at once with the activation ssm-ssh keeps in Parameter Store (issue 18): the
// stored one has room for five, so five register with it and the service refuses the rest
// (RegistrationLimitExceeded, as the real agent reports it); those ask the store again, which makes
// one new activation under its lock for all of them. Every Pi ends Online under its own id, and no
// activation holds more registrations than its limit.
import { execa } from 'execa'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { cli, plainSshFlags, startWorld, type World } from '../helpers/e2e.ts'
import { describeReal } from '../helpers/real.ts'

const PIS = 10
const ROLE = 'SSMServiceRole'

describeReal('ten enrolments at once against one stored activation with a limit of 5', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld({ unenrolled: PIS })
  }, 180_000)
  afterAll(async () => {
    await w?.close()
  })

  const cliRun = (args: string[]) =>
    execa(process.execPath, [cli, ...args], { env: w.env, extendEnv: false, reject: false, timeout: 240_000 })

  it('every Pi is enrolled, each activation within its limit, one activation created for the rest', async () => {
    const stored = await cliRun(['activation', 'ensure', '--role', ROLE, '--limit', '5', '--json'])
    expect(stored.exitCode, stored.stderr).toBe(0)
    const first = (JSON.parse(stored.stdout) as { activationId: string }).activationId
    expect(w.box.state.activations.size).toBe(1)

    const started = Date.now()
    const runs = await Promise.all(
      [...w.box.unenrolled.values()].map((pi) =>
        cliRun(['enroll', ...plainSshFlags(pi, w.key.path), '--role', ROLE, '--timeout', '120']),
      ),
    )
    process.stderr.write(`${PIS} enrolments at once: ${Date.now() - started} ms\n`)
    for (const r of runs) expect(r.exitCode, r.stderr).toBe(0)
    const ids = runs.map((r) => r.stdout.trim())
    expect(new Set(ids).size).toBe(PIS)
    for (const id of ids) expect(w.box.state.instances.get(id)?.pingStatus).toBe('Online')

    const activations = [...w.box.state.activations.values()]
    // the stored one, full, and exactly one more made for the five it could not take
    expect(activations).toHaveLength(2)
    const full = w.box.state.activations.get(first)
    expect(full?.registrationsCount).toBe(5)
    for (const a of activations) expect(a.registrationsCount).toBeLessThanOrEqual(a.registrationLimit)
    expect(activations.reduce((n, a) => n + a.registrationsCount, 0)).toBe(PIS)
    // each node belongs to the activation that registered it
    const byActivation = new Map<string, number>()
    for (const id of ids) {
      const a = w.box.state.instances.get(id)?.activationId ?? ''
      byActivation.set(a, (byActivation.get(a) ?? 0) + 1)
    }
    expect(byActivation.get(first)).toBe(5)
    // refusals happened, and were the limit's
    const refused = w.box.state.requests.filter(
      (q) => q.operation === 'RegisterManagedInstance' && q.status !== 200,
    )
    expect(refused.map((q) => q.errorCode)).toEqual(expect.arrayContaining(['RegistrationLimitExceeded']))
    for (const q of refused) expect(q.errorCode).toBe('RegistrationLimitExceeded')
  }, 300_000)
})
