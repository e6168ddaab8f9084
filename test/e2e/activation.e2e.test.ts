// ssm-ssh activation end to end: the built CLI against the sandbox. Ten `activation ensure` processes
// at once against a stored activation that is full (limit 5) or expired create exactly one new
// activation between them; an expired or deleted stored activation is replaced; `ls` never prints a
// code; `rm` deletes.
import { execa } from 'execa'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { registerWithActivation } from '../../src/sandbox/api/ssm-activations.ts'
import { cli, startWorld, type World } from '../helpers/e2e.ts'

const PARAM = '/hybrid/ssm-ssh/activation'

describe('ssm-ssh activation', () => {
  let w: World
  const cmd = (args: string[]) =>
    execa(process.execPath, [cli, 'activation', ...args], {
      env: w.env,
      extendEnv: false,
      reject: false,
      timeout: 120_000,
    })
  const ensureJson = async (extra: string[] = []) => {
    const r = await cmd(['ensure', '--role', 'SSMServiceRole', '--limit', '5', '--json', ...extra])
    expect(r.exitCode, r.stderr).toBe(0)
    return JSON.parse(r.stdout) as {
      activationId: string
      activationCode: string
      created: boolean
      replaced?: string
      reason?: string
    }
  }
  const created = () =>
    w.box.state.requests.filter((r) => r.operation === 'CreateActivation' && r.status === 200).length
  const fill = (id: string, code: string) => {
    const a = w.box.state.activations.get(id)
    while (a && a.registrationsCount < a.registrationLimit)
      registerWithActivation(w.box.state, id, code, new Date())
  }

  beforeAll(async () => {
    w = await startWorld({ fleet: 2, seed: 3 })
  }, 60_000)
  afterAll(async () => w?.close())
  beforeEach(() => {
    w.box.state.activations.clear()
    w.box.state.parameters.clear()
  })

  it('ten concurrent ensure runs against a full activation (limit 5) create exactly one', async () => {
    const first = await ensureJson()
    expect(first.created).toBe(true)
    fill(first.activationId, first.activationCode)
    expect(w.box.state.activations.get(first.activationId)?.registrationsCount).toBe(5)
    const before = created()
    const runs = await Promise.all(Array.from({ length: 10 }, () => ensureJson()))
    expect(created() - before).toBe(1)
    expect(runs.filter((r) => r.created)).toEqual([
      expect.objectContaining({ replaced: first.activationId, reason: 'full' }),
    ])
    const ids = new Set(runs.map((r) => r.activationId))
    expect(ids.size).toBe(1)
    expect(ids.has(first.activationId)).toBe(false)
    expect(w.box.state.parameters.has(`${PARAM}.lock`)).toBe(false)
  }, 120_000)

  it('ten concurrent ensure runs against an expired activation create exactly one', async () => {
    const first = await ensureJson()
    const sim = w.box.state.activations.get(first.activationId)
    if (sim) sim.expirationDate = new Date(Date.now() - 1000)
    const before = created()
    const runs = await Promise.all(Array.from({ length: 10 }, () => ensureJson()))
    expect(created() - before).toBe(1)
    expect(runs.filter((r) => r.created)).toEqual([
      expect.objectContaining({ replaced: first.activationId, reason: 'expired' }),
    ])
    expect(new Set(runs.map((r) => r.activationId)).size).toBe(1)
  }, 120_000)

  it('reuses a valid one, replaces a deleted one, and says why without the code', async () => {
    const first = await ensureJson()
    const again = await cmd(['ensure', '--role', 'SSMServiceRole'])
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain(`reusing activation ${first.activationId}`)
    expect((await cmd(['ensure', '--role', 'SSMServiceRole', '--dry-run'])).stdout).toBe(
      `would reuse activation ${first.activationId}`,
    )
    expect((await cmd(['rm', first.activationId, '--dry-run'])).stdout).toBe(
      `would delete activation ${first.activationId}`,
    )
    expect(w.box.state.activations.has(first.activationId)).toBe(true)
    const rm = await cmd(['rm', first.activationId])
    expect(rm.exitCode, rm.stderr).toBe(0)
    expect(w.box.state.activations.has(first.activationId)).toBe(false)
    // deleted behind our back: the pointer still names it
    const second = await ensureJson()
    w.box.state.activations.delete(second.activationId)
    const dry = await cmd(['ensure', '--role', 'SSMServiceRole', '--dry-run'])
    expect(dry.stdout).toBe(
      `would create an activation (the stored activation was deleted) and store it in ${PARAM}`,
    )
    const third = await cmd(['ensure', '--role', 'SSMServiceRole', '--debug'])
    expect(third.exitCode, third.stderr).toBe(0)
    expect(third.stdout).toMatch(
      new RegExp(
        `^created activation \\S+, replacing ${second.activationId} \\(the stored activation was deleted\\)`,
      ),
    )
    const newest = [...w.box.state.activations.values()].at(-1)
    expect(newest).toBeDefined()
    expect(third.stdout + third.stderr).not.toContain(newest?.activationCode)
  }, 60_000)

  it('ls lists the activations and marks the stored one, never printing a code', async () => {
    const a = await ensureJson(['--tag', 'site=home', '--name-prefix', 'pi'])
    const ls = await cmd(['ls'])
    expect(ls.exitCode, ls.stderr).toBe(0)
    expect(ls.stdout).toMatch(
      new RegExp(`${a.activationId}\\s+pi\\s+SSMServiceRole\\s+0/5\\s+\\S+\\s+stored, usable`),
    )
    expect(ls.stdout + ls.stderr).not.toContain(a.activationCode)
    const json = await cmd(['ls', '--json'])
    expect(json.stdout).not.toContain(a.activationCode)
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ activationId: a.activationId, current: true }),
    ])
  }, 60_000)

  it('rejects bad flags with usage errors', async () => {
    expect((await cmd(['ensure'])).exitCode).toBe(2)
    expect((await cmd(['ensure', '--role', 'r', '--limit', '1001'])).exitCode).toBe(2)
    expect((await cmd(['ensure', '--role', 'r', '--days', '31'])).exitCode).toBe(2)
    expect((await cmd(['ls', '--role', 'r'])).exitCode).toBe(2)
    expect((await cmd(['rm', 'nope'])).exitCode).toBe(2)
  }, 60_000)
})
