// push-key end to end: Run Command puts a temporary key on a hybrid node (the exact line checked),
// ssh works with it and is refused after the TTL; EC2 Instance Connect does the same for i-.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'
import { makeClientKey, sshBaseArgs } from '../helpers/ssh-key.ts'

describe('ssm-ssh push-key', () => {
  let w: World
  let fresh: { path: string; publicKey: string }
  const run = (...args: string[]) =>
    execa(process.execPath, [cli, 'push-key', ...args], { env: w.env, extendEnv: false, reject: false })
  const sshWith = (key: string, target: string) =>
    execa(
      'ssh',
      [
        ...sshBaseArgs(key),
        '-o',
        `ProxyCommand="${process.execPath}" "${cli}" proxy %h %p`,
        target,
        'echo in',
      ],
      { env: w.env, extendEnv: false, reject: false, timeout: 60_000 },
    )
  beforeAll(async () => {
    w = await startWorld()
    fresh = makeClientKey()
  })
  afterAll(async () => w.close())

  it('Run Command: the exact marked line, ssh works, and it is gone after the TTL', async () => {
    const id = w.idOf('pi-attic')
    expect((await sshWith(fresh.path, `pi@${id}`)).exitCode).toBe(255)
    const r = await run('pi-attic', '--key', `${fresh.path}.pub`, '--user', 'pi', '--ttl', '12s')
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(
      new RegExp(`^ok\\s+${id}\\s+pi-attic\\s+key valid for 12 s \\(Run Command\\)$`, 'm'),
    )
    expect(r.exitCode).toBe(0)
    const [type, blob] = fresh.publicKey.split(' ')
    const lines = readFileSync(
      join(w.box.state.instances.get(id)!.home, '.ssh', 'authorized_keys'),
      'utf8',
    ).split('\n')
    expect(lines.at(-2)).toMatch(
      new RegExp(
        `^expiry-time="\\d{14}" ${type} ${blob!.replace(/[+/]/g, '\\$&')} ssm-ssh-temp-[0-9a-f]{12}$`,
      ),
    )
    expect((await sshWith(fresh.path, `pi@${id}`)).stdout).toBe('in')
    await vi.waitFor(async () => expect((await sshWith(fresh.path, `pi@${id}`)).exitCode).toBe(255), {
      timeout: 30_000,
      interval: 2_000,
    })
    expect(
      readFileSync(join(w.box.state.instances.get(id)!.home, '.ssh', 'authorized_keys'), 'utf8'),
    ).not.toContain('ssm-ssh-temp-')
    expect(w.box.state.requests.filter((q) => q.operation === 'SendCommand')).toHaveLength(1)
  })

  it('EC2 Instance Connect for i-: valid at once', async () => {
    const r = await run('web-2', '--key', `${fresh.path}.pub`, '--user', 'ec2-user')
    expect(r.stdout).toMatch(/^ok\s+i-[0-9a-f]{17}\s+web-2\s+key valid for 60 s \(EC2 Instance Connect\)$/m)
    expect((await sshWith(fresh.path, 'ec2-user@web-2')).stdout).toBe('in')
  })

  it('offline targets are reported, hostile input sends nothing', async () => {
    const before = w.box.state.requests.filter((q) => q.operation === 'SendCommand').length
    const offline = await run('pi-offline', '--key', `${fresh.path}.pub`)
    expect(offline.exitCode).toBe(1)
    expect(offline.stdout).toMatch(/^FAILED\s+mi-[0-9a-f]{17}\s+pi-offline\s+offline \(ConnectionLost\)$/m)
    for (const user of ['root; rm -rf /', '$(id)', "pi'", 'Pi\nroot']) {
      const r = await run('pi-garage', '--key', `${fresh.path}.pub`, '--user', user)
      expect(r.exitCode).toBe(2)
      expect(r.stderr).toMatch(/^ssm-ssh: --user .* is not a login name/)
    }
    const badKey = join(w.dir, 'bad.pub')
    ;(await import('node:fs')).writeFileSync(badKey, 'ssh-ed25519 AAAAnotakey$(reboot) x\n')
    expect((await run('pi-garage', '--key', badKey)).exitCode).toBe(2)
    expect(w.box.state.requests.filter((q) => q.operation === 'SendCommand').length).toBe(before)
  })
})
