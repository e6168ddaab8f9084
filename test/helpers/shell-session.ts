// A Session Manager shell session as a person opens one (`aws ssm start-session --target ID`): StartSession
// with no document, then AWS's own session-manager-plugin on a pseudo-terminal (util-linux `script`),
// which a shell session needs. On a real instance the agent starts the shell as ssm-user, creating
// the user (and its sudoers file) on the first session.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm'
import { vi } from 'vitest'
import type { World } from './e2e.ts'

export interface ShellSession {
  /** everything the terminal showed so far */
  screen(): string
  /** type a line */
  type(line: string): void
  /** wait until the screen matches */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  /** `exit` and wait for the plugin to end */
  close(): Promise<void>
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`

export async function openShellSession(w: World, plugin: string, instanceId: string): Promise<ShellSession> {
  const ssm = new SSMClient({
    endpoint: w.box.endpoint,
    region: w.box.region,
    credentials: { accessKeyId: w.box.accessKeyId, secretAccessKey: w.box.secretAccessKey },
  })
  const request = { Target: instanceId }
  const { $metadata: _, ...response } = await ssm.send(new StartSessionCommand(request))
  const line = [
    plugin,
    JSON.stringify(response),
    w.box.region,
    'StartSession',
    '',
    JSON.stringify(request),
    w.box.endpoint,
  ]
    .map(quote)
    .join(' ')
  const child: ChildProcessWithoutNullStreams = spawn('script', ['-qfec', line, '/dev/null'], {
    env: { ...w.env, TERM: 'dumb' },
  })
  let screen = ''
  child.stdout.on('data', (d: Buffer) => {
    screen += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    screen += d.toString()
  })
  const ended = new Promise<void>((resolve) => child.on('close', () => resolve()))
  const waitFor = (pattern: RegExp, timeoutMs = 20_000) =>
    vi.waitFor(
      () => {
        const m = pattern.exec(screen)
        if (!m) throw new Error(`the session's screen never showed ${pattern}:\n${screen}`)
        return m
      },
      { timeout: timeoutMs, interval: 100 },
    )
  // the shell's prompt: the session is up
  await waitFor(/\$ $/m, 30_000)
  return {
    screen: () => screen,
    type: (text) => {
      child.stdin.write(`${text}\n`)
    },
    waitFor,
    close: async () => {
      if (child.exitCode === null) child.stdin.write('exit\n')
      const timer = setTimeout(() => child.kill(), 10_000)
      await ended
      clearTimeout(timer)
    },
  }
}
