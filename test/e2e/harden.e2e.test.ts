// ssm-ssh harden against simulated instances: they run Run Command scripts, but as the sandbox's own
// user in a directory of this machine, with no sudoers of their own. harden must say so and change
// nothing (the machine's /etc/sudoers.d least of all); offline hosts are reported and never sent.
// What harden does to sudoers is tested on real instances (harden-real.e2e.test.ts).
import { execFileSync } from 'node:child_process'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'

/** The machine's sudoers files: names, modes and contents (the tests run as root here). */
const machineSudoers = () =>
  execFileSync(
    '/bin/sh',
    ['-c', 'ls -la --time-style=full-iso /etc/sudoers.d 2>&1; cat /etc/sudoers.d/* 2>&1'],
    {
      encoding: 'utf8',
    },
  )

describe('ssm-ssh harden on simulated instances', () => {
  let w: World
  const harden = (...args: string[]) =>
    execa(process.execPath, [cli, 'harden', ...args], {
      env: w.env,
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    })
  beforeAll(async () => {
    w = await startWorld()
  })
  afterAll(async () => w?.close())

  it('a simulated host fails with the reason, and nothing of the machine is touched', async () => {
    const before = machineSudoers()
    for (const args of [
      ['pi-garage'],
      ['pi-garage', '--pi-nopasswd', '--dry-run'],
      ['pi-garage', '--undo'],
    ]) {
      const r = await harden(...args)
      expect(r.exitCode).toBe(1)
      expect(r.stdout).toMatch(
        /^FAILED +mi-\w+ +pi-garage +a simulated sandbox host has no sudoers of its own: harden runs on real instances \(sandbox --real N\)$/m,
      )
      expect(r.stderr).toMatch(/ssm-ssh: 1 of 1 hosts failed/)
    }
    expect(machineSudoers()).toBe(before)
    const commands = [...w.box.state.commands.values()]
    expect(commands.at(-1)?.documentName).toBe('AWS-RunShellScript')
  })

  it('an offline host is not reached (exit 4) and gets no command; --json says so', async () => {
    const sent = w.box.state.commands.size
    const r = await harden('pi-offline', '--json')
    expect(r.exitCode).toBe(4)
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: 'pi-offline',
      status: 'unreached',
      result: 'offline (ConnectionLost)',
      files: [],
    })
    expect(r.stderr).toMatch(/1 of 1 hosts were not reached/)
    expect(w.box.state.commands.size).toBe(sent)
  })

  it('failed beats not reached: exit 1 when one failed and one was offline', async () => {
    const r = await harden('pi-garage', 'pi-offline')
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toMatch(/^unreached +mi-\w+ +pi-offline +offline \(ConnectionLost\)$/m)
    expect(r.stdout).toMatch(/^FAILED +mi-\w+ +pi-garage /m)
  })

  it('bad flags are usage errors (exit 2)', async () => {
    const r = await harden('pi-garage', '--undo', '--dry-run')
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/--dry-run and --undo do not go together/)
  })
})
