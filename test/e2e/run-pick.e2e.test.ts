// run --pick in a real terminal (tmux): type to narrow the fleet, Tab marks rows, Enter runs the
// command on the marked ones only.
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'

let hasTmux = true
try {
  execFileSync('tmux', ['-V'])
} catch {
  hasTmux = false
}

const session = `ssm-ssh-run-pick-${process.pid}`
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' })
const screen = () => tmux('capture-pane', '-t', session, '-p')

describe.skipIf(!hasTmux)('ssm-ssh run --pick in a terminal', () => {
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
      `env -i ${env} "${process.execPath}" "${cli}" run --pick -- 'echo "ran-$((6*7))"'; echo "RUN-EXIT=$?"; sleep 60`,
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

  it('Tab marks two Pis, Enter runs on exactly those', async () => {
    await vi.waitFor(() => expect(screen()).toMatch(/run on .*0 marked · 12\/12/), {
      timeout: 15_000,
      interval: 100,
    })
    tmux('send-keys', '-t', session, 'pi-')
    await vi.waitFor(() => expect(screen()).toMatch(/^run on pi-/m), { timeout: 10_000, interval: 100 })
    tmux('send-keys', '-t', session, 'C-u', 'kitchen')
    await vi.waitFor(() => expect(screen()).toMatch(/❯ {3}pi-kitchen/), { timeout: 10_000, interval: 100 })
    tmux('send-keys', '-t', session, 'Tab')
    await vi.waitFor(() => expect(screen()).toMatch(/1 marked/), { timeout: 10_000, interval: 100 })
    tmux('send-keys', '-t', session, 'C-u', 'garage')
    await vi.waitFor(() => expect(screen()).toMatch(/❯ {3}pi-garage/), { timeout: 10_000, interval: 100 })
    tmux('send-keys', '-t', session, 'Tab')
    await vi.waitFor(() => expect(screen()).toMatch(/2 marked/), { timeout: 10_000, interval: 100 })
    tmux('send-keys', '-t', session, 'Enter')
    await vi
      .waitFor(
        () => {
          const text = screen()
          expect(text).toMatch(/RUN-EXIT=0/)
          const ran = text.split('\n').filter((l) => /\tran-42|\s+ran-42$/.test(l))
          expect(ran.map((l) => l.split(/\s+/)[0]).sort()).toEqual(['pi-garage', 'pi-kitchen'])
        },
        { timeout: 20_000, interval: 200 },
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}\n--- screen ---\n${screen()}`)
      })
  })
})
