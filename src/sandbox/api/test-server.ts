// For the API's own tests: a state with a generated fleet, and the API on a free 127.0.0.1 port with
// a hand-written agent (runScript) in place of the hosts.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRandom, type Faults, noFaults } from '../faults.ts'
import { generateFleet } from '../fleet.ts'
import type { SandboxState } from '../model.ts'
import { createState } from '../state.ts'
import type { RunScript } from './command-runner.ts'
import { createApiHandler } from './index.ts'

export const testCredentials = { accessKeyId: 'AKIASANDBOXTEST', secretAccessKey: 'sandbox-secret' }

/** A state with a generated fleet; homes under `stateDir` (for hosts that start), the clock `now`. */
export function testState(
  size: number,
  seed: number,
  options: { stateDir?: string; now?: () => Date } = {},
): SandboxState {
  const stateDir = options.stateDir ?? '/tmp/none'
  const now = options.now ?? (() => new Date())
  return createState({
    region: 'eu-west-1',
    accountId: '123456789012',
    ...testCredentials,
    stateDir,
    fleet: generateFleet({ size, seed, stateDir, now: now() }),
    ...(options.now ? { now: options.now } : {}),
  })
}

/** An agent that runs nothing and succeeds: for tests that send no command. */
export const idleAgent: RunScript = async () => ({ exitCode: 0, stdout: '', stderr: '' })

export async function serveApi(
  state: SandboxState,
  runScript: RunScript = idleAgent,
  faults: Faults = noFaults,
): Promise<{ server: Server; endpoint: string }> {
  const server = createServer()
  let endpoint = ''
  server.on(
    'request',
    createApiHandler(state, {
      faults,
      latencyMs: 0,
      random: createRandom(3),
      publicEndpoint: () => endpoint,
      runScript,
    }),
  )
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { server, endpoint }
}
