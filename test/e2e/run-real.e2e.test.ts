// ssm-ssh run on a real instance (AWS's own amazon-ssm-agent 3.3.1142.0) beside a simulated one: what
// run prints and exits with is what the agent reported (GetCommandInvocation), and the simulated agent
// reports the same for the same script — exit codes, both streams, an execution time-out, a cancel.
import {
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SSMClient,
} from '@aws-sdk/client-ssm'
import { execa } from 'execa'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'
import { describeReal } from '../helpers/real.ts'
import { sshBaseArgs } from '../helpers/ssh-key.ts'

const REAL = 'pi-kitchen'
const SIMULATED = 'pi-garage'

interface Row {
  id: string
  name: string
  status: string
  exitCode: number | null
  stdout: string
  stderr: string
}

describeReal('run on a real instance (amazon-ssm-agent 3.3.1142.0) and a simulated one', () => {
  let w: World
  let ssm: SSMClient
  const runJson = async (args: string[]) => {
    const before = w.box.state.commands.size
    const r = await execa(process.execPath, [cli, 'run', REAL, SIMULATED, '--json', ...args], {
      env: w.env,
      extendEnv: false,
      reject: false,
      timeout: 90_000,
    })
    const rows = String(r.stdout)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Row)
    const commandIds = [...w.box.state.commands.keys()].slice(before)
    return { exitCode: r.exitCode, stderr: String(r.stderr), rows, commandIds }
  }
  /** What the agent itself reported for this host, through the API. */
  const reported = async (commandIds: string[], instanceId: string) => {
    const commandId = commandIds.find((id) => w.box.state.commands.get(id)?.invocations.has(instanceId))
    return ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }))
  }
  const expectAgrees = (row: Row | undefined, agent: GetCommandInvocationCommandOutput) => {
    expect(row?.stdout).toBe(agent.StandardOutputContent)
    expect(row?.stderr).toBe(agent.StandardErrorContent)
    expect(row?.exitCode).toBe(agent.ResponseCode === -1 ? null : agent.ResponseCode)
  }

  beforeAll(async () => {
    w = await startWorld({ real: 1 })
    ssm = new SSMClient({
      endpoint: w.box.endpoint,
      region: w.box.region,
      credentials: { accessKeyId: w.box.accessKeyId, secretAccessKey: w.box.secretAccessKey },
    })
  }, 120_000)
  afterAll(async () => w?.close())

  it('prints the exit codes and streams the agent reported, the same for real and simulated', async () => {
    const r = await runJson(['--', 'echo out; echo err >&2; exit 3'])
    expect(r.exitCode).toBe(1)
    const [real, sim] = [REAL, SIMULATED].map((n) => r.rows.find((row) => row.name === n))
    for (const [row, name] of [
      [real, REAL],
      [sim, SIMULATED],
    ] as const)
      expectAgrees(row, await reported(r.commandIds, w.idOf(name)))
    expect(real).toMatchObject({ status: 'Failed', exitCode: 3, stdout: 'out\n' })
    expect({ ...sim, id: '', name: '' }).toEqual({ ...real, id: '', name: '' })
    const ok = await runJson(['--working-dir', '/tmp', '--', 'pwd'])
    expect(ok.exitCode).toBe(0)
    expect(ok.rows.map((row) => [row.status, row.exitCode, row.stdout])).toEqual([
      ['Success', 0, '/tmp\n'],
      ['Success', 0, '/tmp\n'],
    ])
  }, 120_000)

  it('an execution time-out: what the real agent reports, and the simulated one the same', async () => {
    const r = await runJson(['--timeout', '5', '--', 'echo started; sleep 30'])
    expect(r.exitCode).toBe(1)
    const [real, sim] = [REAL, SIMULATED].map((n) => r.rows.find((row) => row.name === n))
    expectAgrees(real, await reported(r.commandIds, w.idOf(REAL)))
    expect(real?.status).toBe('TimedOut')
    expect({ ...sim, id: '', name: '' }).toEqual({ ...real, id: '', name: '' })
  }, 120_000)

  it('--via ssh reaches the real instance through its agent too, with the exit code ssh passes on', async () => {
    const r = await runJson([
      '--via',
      'ssh',
      '-l',
      'pi',
      ...sshBaseArgs(w.key.path).slice(0, -2),
      '--',
      'echo "$USER@$(hostname)"; exit 3',
    ])
    expect(r.rows.map((row) => [row.name, row.status, row.exitCode, row.stdout]).sort()).toEqual([
      [SIMULATED, 'Failed', 3, expect.stringMatching(/^pi@/)],
      [REAL, 'Failed', 3, 'pi@pi-kitchen\n'],
    ])
    expect(r.exitCode).toBe(1)
  }, 60_000)

  it('Ctrl-C cancels on the real agent too: Cancelled, and its script is gone', async () => {
    const before = w.box.state.commands.size
    const child = execa(process.execPath, [cli, 'run', REAL, '--', 'sleep 45'], {
      env: w.env,
      extendEnv: false,
      reject: false,
    })
    const instance = w.box.real.get(w.idOf(REAL))
    const sleeping = async () => (await instance?.exec(['pgrep', '-c', '-x', 'sleep']))?.stdout.trim()
    await vi.waitFor(async () => expect(await sleeping()).toBe('1'), { timeout: 30_000, interval: 500 })
    child.kill('SIGINT')
    const r = await child
    expect(r.exitCode).toBe(130)
    const [commandId] = [...w.box.state.commands.keys()].slice(before)
    const inv = w.box.state.commands.get(commandId as string)?.invocations.get(w.idOf(REAL))
    expect(inv?.status).toBe('Cancelled')
    await vi.waitFor(async () => expect(await sleeping()).toBe('0'), { timeout: 15_000, interval: 500 })
  }, 120_000)
})
