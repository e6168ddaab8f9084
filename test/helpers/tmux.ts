// A real terminal for tests of the pickers: a detached tmux session running the built CLI.
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll } from 'vitest'
import { startWorld, type World } from './e2e.ts'

export const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'])
    return true
  } catch {
    return false
  }
})()

export const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' })

/** What the session's screen shows now. */
export const screenOf = (session: string) => tmux('capture-pane', '-t', session, '-p')

/** `command` (a shell line) in a 160×30 terminal with exactly `env` (plus TERM, NO_COLOR). */
export function startInTmux(session: string, env: NodeJS.ProcessEnv, command: string): void {
  const vars = Object.entries({ ...env, TERM: 'xterm-256color', NO_COLOR: '1' })
    .map(([k, v]) => `${k}='${v}'`)
    .join(' ')
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '30', `env -i ${vars} ${command}`)
}

export function killTmux(session: string): void {
  try {
    tmux('kill-session', '-t', session)
  } catch {
    // already gone
  }
}

/**
 * A sandbox world and, in a terminal, the shell line `commandOf(world)` gives; both gone after the
 * tests. Returns the world (set once beforeAll has run).
 */
export function useTmuxWorld(session: string, commandOf: (w: World) => string): () => World {
  let w: World | undefined
  beforeAll(async () => {
    w = await startWorld()
    startInTmux(session, w.env, commandOf(w))
  })
  afterAll(async () => {
    killTmux(session)
    await w?.close()
  })
  return () => w as World
}
