// The sandbox checked by a client nobody here wrote: AWS's own session-manager-plugin, through
// `ssm-ssh proxy --transport plugin`, carries a real ssh session.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cli, randomData, sha256, startWorld, userSshDir, type World } from '../helpers/e2e.ts'
import { findOfficialPlugin } from '../helpers/plugin.ts'

const plugin = findOfficialPlugin()
const MiB = 1024 * 1024

describe.skipIf(!plugin)('the official session-manager-plugin as transport', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld({ proxyArgs: ['--transport', 'plugin', '--plugin', `"${plugin}"`] })
  })
  afterAll(async () => w.close())

  it('runs a command', async () => {
    const r = await w.ssh('pi@pi-kitchen', 'echo hi', { timeoutMs: 60_000 })
    expect(r.stdout.toString()).toBe('hi\n')
    expect(r.exitCode).toBe(0)
    const sessions = [...w.box.state.sessions.values()]
    // the official plugin announced itself (its source build says 1.2.0.0), and the session was ended
    expect(sessions.map((s) => s.clientVersion)).toEqual(['1.2.0.0'])
    // ssh does not wait for its ProxyCommand: give proxy a moment to call TerminateSession
    await vi.waitFor(() => expect(sessions[0]?.status).toBe('Terminated'), { timeout: 10_000 })
  })

  it.each([
    ['pi-kitchen', 'AWS-StartPortForwardingSession', { portNumber: ['22'] }, 'pi'],
    [
      'pi-gateway',
      'AWS-StartPortForwardingSessionToRemoteHost',
      { host: ['10.20.0.11'], portNumber: ['22'] },
      'admin',
    ],
  ])(
    'forwards a local port through %s with %s, as aws ssm start-session does',
    { timeout: 90_000 },
    async (name, documentName, parameters, user) => {
      const { sshTwiceThroughPluginForward } = await import('../helpers/plugin.ts')
      const outputs = await sshTwiceThroughPluginForward(
        plugin as string,
        w,
        name as string,
        documentName as string,
        parameters as Record<string, string[]>,
        user as string,
      )
      expect(outputs).toEqual([`round 1 as ${user}`, `round 2 as ${user}`])
    },
  )

  it('moves 4 MiB each way with equal sha256', async () => {
    const up = randomData(4 * MiB, 3)
    const upload = await w.ssh('pi@pi-garage', 'cat > blob && sha256sum blob', {
      input: up,
      timeoutMs: 120_000,
    })
    expect(upload.stdout.toString().split(' ')[0]).toBe(sha256(up))
    const download = await w.ssh('pi@pi-garage', 'cat blob', { timeoutMs: 120_000 })
    expect(sha256(download.stdout)).toBe(sha256(up))
  })

  it('config --transport plugin writes stanzas that ssh through the plugin, and doctor checks that plugin', async () => {
    const sshDir = userSshDir(w, 'plugin-ssh')
    const run = (...args: string[]) =>
      execa(process.execPath, [cli, ...args], { env: w.env, extendEnv: false, reject: false })
    for (const bad of [
      ['--transport', 'carrier-pigeon'],
      ['--plugin', plugin as string],
      ['--transport', 'plugin', '--plugin', 'relative/session-manager-plugin'],
    ]) {
      const r = await run('config', '--ssh-dir', sshDir, ...bad)
      expect(r.exitCode, bad.join(' ')).toBe(2)
      expect(r.stderr.split('\n')[0]).toMatch(/^ssm-ssh: --(transport|plugin) /)
    }
    const written = await run(
      'config',
      '--ssh-dir',
      sshDir,
      '--user',
      'pi',
      '--transport',
      'plugin',
      '--plugin',
      plugin as string,
    )
    expect(written.exitCode, written.stderr).toBe(0)
    const stanzas = readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')
    expect(stanzas).toMatch(
      /^Host pi-kitchen\n(.*\n)* {2}ProxyCommand .* proxy .*--transport plugin --plugin \S+ %h %p$/m,
    )
    const before = w.box.state.sessions.size
    const r = await execa('ssh', ['-F', join(sshDir, 'config'), 'pi-kitchen', 'echo through the plugin'], {
      env: w.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    })
    expect(r.stdout).toBe('through the plugin')
    // the session was the plugin's: it announces its own version (its source build says 1.2.0.0)
    expect([...w.box.state.sessions.values()].slice(before).map((s) => s.clientVersion)).toEqual(['1.2.0.0'])
    // doctor reads ~/.ssh: this world's HOME has none, so the stanzas go where it looks
    const home = join(w.dir, '.ssh')
    mkdirSync(join(home, 'ssm-ssh'), { recursive: true, mode: 0o700 })
    const doctorPlugin = async (stanzaText: string) => {
      writeFileSync(join(home, 'ssm-ssh', 'config'), stanzaText)
      const d = await run('doctor', '--json')
      const findings = JSON.parse(d.stdout) as Array<{ check: string; level: string; why: string }>
      return findings.find((f) => f.check === 'plugin')
    }
    expect(await doctorPlugin(stanzas)).toMatchObject({
      level: 'ok',
      why: expect.stringMatching(/^session-manager-plugin \d/),
    })
    const gone = await doctorPlugin(stanzas.replaceAll(plugin as string, join(w.dir, 'no-such-plugin')))
    expect(gone).toMatchObject({ level: 'fail', why: expect.stringContaining('not found at') })
  })
})

if (!plugin) {
  describe('the official session-manager-plugin', () => {
    it.skip('is not installed here (neither on PATH nor in ../shared/tools): skipped', () => {})
  })
}
