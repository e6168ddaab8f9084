import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { root } from './e2e.ts'

/** The official plugin: a user's install on PATH first, then the copy CI has beside the project. */
export function findOfficialPlugin(): string | undefined {
  const candidates = [
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, 'session-manager-plugin')),
    join(root, '..', 'shared', 'tools', 'session-manager-plugin', 'session-manager-plugin'),
  ]
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK)
      return c
    } catch {
      // next
    }
  }
  return undefined
}

/**
 * The official plugin forwarding a local port, started as the AWS CLI starts it for
 * `aws ssm start-session --document-name AWS-StartPortForwardingSession[ToRemoteHost]`: StartSession's
 * response, the region, the operation, a profile, the request and the endpoint URL. Resolves with the
 * local port it reports once it listens.
 */
export async function startPluginForward(
  plugin: string,
  box: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string },
  env: NodeJS.ProcessEnv,
  request: { Target: string; DocumentName: string; Parameters: Record<string, string[]> },
): Promise<{ port: number; output: () => string; stop: () => void }> {
  const { SSMClient, StartSessionCommand } = await import('@aws-sdk/client-ssm')
  const { spawn } = await import('node:child_process')
  const ssm = new SSMClient({
    endpoint: box.endpoint,
    region: box.region,
    credentials: { accessKeyId: box.accessKeyId, secretAccessKey: box.secretAccessKey },
  })
  const { $metadata: _, ...response } = await ssm.send(new StartSessionCommand(request))
  const child = spawn(
    plugin,
    [JSON.stringify(response), box.region, 'StartSession', '', JSON.stringify(request), box.endpoint],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the plugin did not open a port: ${output}`)), 15_000)
    const look = () => {
      const m = /Port (\d+) opened/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      } else if (child.exitCode !== null) {
        clearTimeout(timer)
        reject(new Error(`the plugin exited (${child.exitCode}): ${output}`))
      } else setTimeout(look, 50)
    }
    look()
  })
  return { port, output: () => output, stop: () => child.kill() }
}

/** One login through a forward; two of them and the plugin's start fit a 90 s test with room. */
const ROUND_TIMEOUT_MS = 25_000

/** Two ssh logins, one after the other, through one plugin forward (two smux streams, one session). */
export async function sshTwiceThroughPluginForward(
  plugin: string,
  w: {
    box: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }
    env: NodeJS.ProcessEnv
    config: string
    idOf(name: string): string
  },
  name: string,
  documentName: string,
  parameters: Record<string, string[]>,
  user: string,
): Promise<string[]> {
  const { execa } = await import('execa')
  const forward = await startPluginForward(plugin, w.box, w.env, {
    Target: w.idOf(name),
    DocumentName: documentName,
    Parameters: { ...parameters, localPortNumber: ['0'] },
  })
  try {
    const outputs: string[] = []
    for (const round of [1, 2]) {
      const r = await execa(
        'ssh',
        [
          '-F',
          w.config,
          '-o',
          'ProxyCommand=none',
          '-v',
          '-p',
          String(forward.port),
          `${user}@127.0.0.1`,
          `echo round ${round} as $USER`,
        ],
        { env: w.env, extendEnv: false, reject: false, stdin: 'ignore', timeout: ROUND_TIMEOUT_MS },
      )
      // a failed round says why (how long, how ssh ended and its last debug lines, what the plugin
      // printed), for the flake hunt: within the test's time, so a stall is reported, not cut off
      const tail = (text: string, n: number) => text.trim().split('\n').slice(-n).join(' | ')
      outputs.push(
        r.exitCode === 0
          ? r.stdout
          : `${r.stdout}[round ${round} after ${r.durationMs.toFixed(0)} ms: ssh ${r.timedOut ? 'timed out' : `exit ${r.exitCode}`}: ${tail(r.stderr, 6)}; plugin: ${tail(forward.output(), 3)}]`,
      )
    }
    return outputs
  } finally {
    forward.stop()
  }
}
