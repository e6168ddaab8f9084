// The picker in a real terminal (tmux): type a query, see the ranked rows, pick one, and land in a
// real ssh session on the sandbox.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'
import { sshBaseArgs } from '../helpers/ssh-key.ts'
import { hasTmux, killTmux, screenOf, startInTmux, tmux, useTmuxWorld } from '../helpers/tmux.ts'

const session = `ssm-ssh-pick-${process.pid}`
const screen = () => screenOf(session)

describe.skipIf(!hasTmux)('ssm-ssh pick in a terminal', () => {
  useTmuxWorld(
    session,
    (world) =>
      `"${process.execPath}" "${cli}" pick -l pi -i "${world.key.path}" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR; echo "PICK-EXIT=$?"; sleep 60`,
  )

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

describe.skipIf(!hasTmux)('ssm-ssh forward --pick in a terminal', () => {
  const name = `ssm-ssh-forward-pick-${process.pid}`
  let w: World
  beforeAll(async () => {
    w = await startWorld()
  })
  afterAll(async () => {
    killTmux(name)
    await w.close()
  })

  it('chooses the instance in the picker, then forwards its port; ssh through it works', async () => {
    const out = `${w.dir}/forward.json`
    startInTmux(
      name,
      w.env,
      `"${process.execPath}" "${cli}" forward --pick 22 --json > "${out}"; echo "FWD-EXIT=$?"; sleep 60`,
    )
    const pane = () => tmux('capture-pane', '-t', name, '-p')
    await vi.waitFor(() => expect(pane()).toMatch(/forward through/), { timeout: 15_000, interval: 100 })
    expect(pane()).toMatch(/enter forward · esc quit/)
    tmux('send-keys', '-t', name, 'attic')
    await vi.waitFor(() => expect(pane()).toMatch(/❯ pi-attic/), { timeout: 10_000, interval: 100 })
    tmux('send-keys', '-t', name, 'Enter')
    const { readFileSync } = await import('node:fs')
    const line = await vi.waitFor(
      () => {
        const text = readFileSync(out, 'utf8')
        expect(text).toMatch(/\n$/)
        return JSON.parse(text.split('\n')[0] as string) as { listen: string; target: string }
      },
      { timeout: 20_000, interval: 100 },
    )
    expect(line.target).toBe(w.idOf('pi-attic'))
    const { execa } = await import('execa')
    const port = line.listen.split(':').at(-1) as string
    const r = await execa(
      'ssh',
      [...sshBaseArgs(w.key.path), '-p', port, 'pi@127.0.0.1', 'echo picked-$((6*7))'],
      {
        env: w.env,
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      },
    )
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('picked-42')
    tmux('send-keys', '-t', name, 'C-c')
    await vi.waitFor(() => expect(pane()).toMatch(/FWD-EXIT=0/), { timeout: 10_000, interval: 100 })
  })
})

describe('ssm-ssh ssh', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld()
  })
  afterAll(async () => w.close())

  it('resolves a name and passes ssh options and the command through untouched', async () => {
    const { execa } = await import('execa')
    const opts = sshBaseArgs(w.key.path)
    const r = await execa(
      process.execPath,
      [cli, 'ssh', 'pi@pi-garage', '--', ...opts, 'echo "$USER-$((6*7))"'],
      { env: w.env, extendEnv: false, reject: false, stdin: 'ignore' },
    )
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('pi-42')
    expect(r.exitCode).toBe(0)
    const fail = await execa(process.execPath, [cli, 'ssh', 'pi@pi-garage', '--', ...opts, 'exit 7'], {
      env: w.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    })
    expect(fail.exitCode).toBe(7)
    const pushed = await execa(
      process.execPath,
      [
        cli,
        'ssh',
        '--push-key',
        'pi@pi-attic',
        '--',
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'LogLevel=ERROR',
        'echo pushed',
      ],
      {
        env: { ...w.env, XDG_STATE_HOME: `${w.dir}/state-ssh` },
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      },
    )
    expect(pushed.stderr).toBe('')
    expect(pushed.stdout).toBe('pushed')
    const ambiguous = await execa(process.execPath, [cli, 'ssh', 'pi-clone', 'true'], {
      env: w.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    })
    expect(ambiguous.exitCode).toBe(4)
    expect(ambiguous.stderr).toMatch(/matches 2 instances/)
  })
})

describe.skipIf(!hasTmux)('an error on a terminal in raw mode (as ssh leaves it)', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld()
  })
  afterAll(async () => w.close())

  it('starts each line at the left margin (it was printed as a staircase)', async () => {
    const name = `ssm-ssh-raw-${process.pid}`
    // stdin is the terminal too: proxy refuses a terminal on stdin, so feed it /dev/null
    startInTmux(
      name,
      w.env,
      `sh -c 'stty raw -echo; "${process.execPath}" "${cli}" proxy no-such-host 22 </dev/null; stty sane; echo; echo RAW-EXIT=done; sleep 30'`,
    )
    try {
      const shot = () => tmux('capture-pane', '-t', name, '-p')
      await vi.waitFor(() => expect(shot()).toMatch(/RAW-EXIT=done/), { timeout: 15_000, interval: 100 })
      const lines = shot().split('\n')
      const first = lines.findIndex((l) => l.startsWith('ssm-ssh: no managed instance named "no-such-host"'))
      expect(first, shot()).toBeGreaterThanOrEqual(0)
      expect(lines[first + 1]).toMatch(/^ {2}hint: /)
    } finally {
      killTmux(name)
    }
  })
})

describe.skipIf(!hasTmux)('ssm-ssh proxy typed at a terminal', () => {
  it('explains what a ProxyCommand is instead of printing an SSH banner', async () => {
    const name = `ssm-ssh-proxy-${process.pid}`
    tmux(
      'new-session',
      '-d',
      '-s',
      name,
      '-x',
      '200',
      '-y',
      '10',
      `"${process.execPath}" "${cli}" proxy pi-kitchen 22; echo "PROXY-EXIT=$?"; sleep 30`,
    )
    try {
      const shot = () => tmux('capture-pane', '-t', name, '-p')
      await vi.waitFor(() => expect(shot()).toMatch(/PROXY-EXIT=2/), { timeout: 15_000, interval: 100 })
      expect(shot()).toMatch(
        /ssm-ssh: ssm-ssh proxy is an OpenSSH ProxyCommand.*\n\s+hint: use: ssh -o ProxyCommand="ssm-ssh proxy %h %p" pi-kitchen/,
      )
      expect(shot()).not.toMatch(/SSH-2\.0|Protocol mismatch/)
    } finally {
      killTmux(name)
    }
  })
})
