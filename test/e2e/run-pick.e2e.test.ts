// run --pick in a real terminal (tmux): type to narrow the fleet, Tab marks rows, Enter runs the
// command on the marked ones only.
import { describe, expect, it, vi } from 'vitest'
import { cli } from '../helpers/e2e.ts'
import { hasTmux, screenOf, tmux, useTmuxWorld } from '../helpers/tmux.ts'

const session = `ssm-ssh-run-pick-${process.pid}`
const screen = () => screenOf(session)

describe.skipIf(!hasTmux)('ssm-ssh run --pick in a terminal', () => {
  useTmuxWorld(
    session,
    () => `"${process.execPath}" "${cli}" run --pick -- 'echo "ran-$((6*7))"'; echo "RUN-EXIT=$?"; sleep 60`,
  )

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
