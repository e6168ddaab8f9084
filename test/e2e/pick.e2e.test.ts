// The picker in a real terminal (tmux): type a query, see the ranked rows, pick one, and land in a
// real ssh session on the sandbox.
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'

let hasTmux = true
try {
  execFileSync('tmux', ['-V'])
} catch {
  hasTmux = false
}

const session = `ssm-ssh-pick-${process.pid}`
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' })
const screen = () => tmux('capture-pane', '-t', session, '-p')

describe.skipIf(!hasTmux)('ssm-ssh pick in a terminal', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld()
    const env = Object.entries({ ...w.env, TERM: 'xterm-256color', NO_COLOR: '1' })
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ')
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '160',
      '-y',
      '30',
      `env -i ${env} "${process.execPath}" "${cli}" pick -l pi -i "${w.key.path}" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR; echo "PICK-EXIT=$?"; sleep 60`,
    )
  })
  afterAll(async () => {
    try {
      tmux('kill-session', '-t', session)
    } catch {
      // already gone
    }
    await w.close()
  })

  it('ranks as you type, connects on Enter', async () => {
    await vi.waitFor(() => expect(screen()).toMatch(/ssh to/), { timeout: 15_000, interval: 100 })
    tmux('send-keys', '-t', session, 'garag')
    await vi.waitFor(
      () => {
        const lines = screen().split('\n')
        expect(lines[0]).toMatch(/^ssh to garag\s+1\/12/)
        expect(lines[2]).toMatch(/^❯ pi-garage\s+mi-[0-9a-f]{17}\s+Online/)
      },
      { timeout: 10_000, interval: 100 },
    )
    tmux('send-keys', '-t', session, 'Enter')
    await new Promise((r) => setTimeout(r, 1500))
    tmux('send-keys', '-t', session, 'echo "inside-$((6*7))"; exit', 'Enter')
    await vi
      .waitFor(() => expect(screen()).toMatch(/inside-42[\s\S]*PICK-EXIT=0/), {
        timeout: 20_000,
        interval: 200,
      })
      .catch((e: Error) => {
        throw new Error(`${e.message}\n--- screen ---\n${screen()}`)
      })
  })
})
