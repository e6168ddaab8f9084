import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeClientKey, sshBaseArgs } from '../../../test/helpers/ssh-key.ts'
import { testState } from '../api/test-server.ts'
import type { SandboxState } from '../model.ts'
import {
  createRunScript,
  ensureHostPort,
  ensurePrivateHostPort,
  hostPublicKeys,
  startHosts,
} from './index.ts'

const exec = promisify(execFile)

describe('simulated hosts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-hosts-'))
  const key = makeClientKey()
  const other = makeClientKey()
  let clock = new Date()
  let state: SandboxState
  let close: () => Promise<void>
  beforeAll(async () => {
    state = testState(10, 1, { stateDir: dir, now: () => clock })
    close = (await startHosts(state, { authorizedKey: key.publicKey })).close
  })
  afterAll(async () => {
    await close()
    rmSync(dir, { recursive: true, force: true })
  })
  const idOf = (name: string) => [...state.instances.values()].find((i) => i.tags.get('Name') === name)!.id
  const ssh = (port: number, user: string, command: string, keyPath = key.path) =>
    exec('ssh', [...sshBaseArgs(keyPath), '-p', String(port), `${user}@127.0.0.1`, command], {
      encoding: 'utf8',
    })

  it('runs a command in the home with the exit code passed through', async () => {
    const id = idOf('pi-kitchen')
    const port = await ensureHostPort(state, id)
    const { stdout } = await ssh(port, 'pi', 'echo hi; pwd')
    expect(stdout).toBe(`hi\n${state.instances.get(id)!.home}\n`)
    await expect(ssh(port, 'pi', 'exit 7')).rejects.toMatchObject({ code: 7 })
  })

  it('refuses a wrong key and a wrong user', async () => {
    const port = await ensureHostPort(state, idOf('pi-kitchen'))
    await expect(ssh(port, 'pi', 'true', other.path)).rejects.toMatchObject({ code: 255 })
    await expect(ssh(port, 'root', 'true')).rejects.toMatchObject({ code: 255 })
  })

  it('honours expiry-time and EC2 Instance Connect keys', async () => {
    const id = idOf('pi-garage')
    const port = await ensureHostPort(state, id)
    const file = join(state.instances.get(id)!.home, '.ssh', 'authorized_keys')
    writeFileSync(file, `expiry-time="20000101" ${other.publicKey}\n${key.publicKey}\n`)
    await expect(ssh(port, 'pi', 'true', other.path)).rejects.toMatchObject({ code: 255 })
    writeFileSync(file, `expiry-time="29991231" ${other.publicKey}\n`)
    await expect(ssh(port, 'pi', 'echo ok', other.path)).resolves.toMatchObject({ stdout: 'ok\n' })
    writeFileSync(file, '')
    state.pushedKeys.push({
      instanceId: id,
      osUser: 'pi',
      publicKey: key.publicKey,
      expiresAt: new Date(clock.getTime() + 60_000),
    })
    await expect(ssh(port, 'pi', 'echo pushed')).resolves.toMatchObject({ stdout: 'pushed\n' })
    clock = new Date(clock.getTime() + 61_000)
    await expect(ssh(port, 'pi', 'true')).rejects.toMatchObject({ code: 255 })
  })

  it('forwards from a private host only to the hosts it can reach', async () => {
    const nas = await ensurePrivateHostPort(state, '10.20.0.11', 22)
    expect(nas).toBeTypeOf('number')
    const base = sshBaseArgs(key.path).join(' ')
    const jump = `ssh ${base} -p ${nas} -W %h:%p admin@127.0.0.1`
    const { stdout } = await exec(
      'ssh',
      [...sshBaseArgs(key.path), '-o', `ProxyCommand=${jump}`, 'admin@10.30.0.5', 'echo vault'],
      { encoding: 'utf8' },
    )
    expect(stdout).toBe('vault\n')
    await expect(
      exec('ssh', [...sshBaseArgs(key.path), '-o', `ProxyCommand=${jump}`, 'admin@10.20.0.10', 'true']),
    ).rejects.toMatchObject({ code: 255 })
    expect(await ensurePrivateHostPort(state, '8.8.8.8', 22)).toBeUndefined()
  })

  it('gives every host its own stable host key', async () => {
    const a = await hostPublicKeys(state, idOf('pi-kitchen'))
    const b = await hostPublicKeys(state, idOf('pi-attic'))
    expect(a[0]).toMatch(/^ssh-ed25519 AAAA/)
    expect(a).not.toEqual(b)
    expect(await hostPublicKeys(state, idOf('pi-kitchen'))).toEqual(a)
  })

  it('runs Run Command scripts for real, with a timeout', async () => {
    const run = createRunScript(state)
    const id = idOf('pi-attic')
    const signal = new AbortController().signal
    const r = await run(id, 'echo out; echo err >&2; echo line >> ~/.ssh/authorized_keys; exit 3', {
      timeoutSeconds: 30,
      signal,
    })
    expect(r).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\nfailed to run commands: exit status 3' })
    expect(readFileSync(join(state.instances.get(id)!.home, '.ssh', 'authorized_keys'), 'utf8')).toContain(
      'line\n',
    )
    const slow = await run(id, 'sleep 30', { timeoutSeconds: 1, signal })
    expect(slow).toMatchObject({ exitCode: 137, status: 'TimedOut' })
    const cancel = new AbortController()
    const cancelled = run(id, 'sleep 30', { timeoutSeconds: 30, signal: cancel.signal })
    setTimeout(() => cancel.abort(), 200)
    expect(await cancelled).toMatchObject({ exitCode: 137, status: 'Cancelled' })
  })
})
