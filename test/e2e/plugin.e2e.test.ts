// The sandbox checked by a client nobody here wrote: AWS's own session-manager-plugin, through
// `ssm-ssh proxy --transport plugin`, carries a real ssh session.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { randomData, sha256, startWorld, type World } from '../helpers/e2e.ts'
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
})

if (!plugin) {
  describe('the official session-manager-plugin', () => {
    it.skip('is not installed here (neither on PATH nor in ../shared/tools): skipped', () => {})
  })
}
