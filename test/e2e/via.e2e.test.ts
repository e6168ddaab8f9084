// Hosts with no agent behind a managed gateway: one hop through an
// AWS-StartPortForwardingSessionToRemoteHost session (proxy --via), two hops with ssh's ProxyJump.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, randomData, sha256, startWorld, type World } from '../helpers/e2e.ts'

describe('proxy --via a managed jump', () => {
  let w: World
  let config: string
  beforeAll(async () => {
    w = await startWorld()
    config = join(w.dir, 'via_config')
    const common = [
      `  IdentityFile ${w.key.path}`,
      '  IdentitiesOnly yes',
      '  BatchMode yes',
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  LogLevel ERROR',
    ]
    writeFileSync(
      config,
      [
        'Host lab-printer',
        '  HostName 10.20.0.10',
        '  User admin',
        `  ProxyCommand "${process.execPath}" "${cli}" proxy --via pi-gateway %h %p`,
        ...common,
        'Host lab-nas',
        '  HostName 10.20.0.11',
        '  User admin',
        `  ProxyCommand "${process.execPath}" "${cli}" proxy --via pi-gateway %h %p`,
        ...common,
        'Host lab-vault',
        '  HostName 10.30.0.5',
        '  User admin',
        '  ProxyJump lab-nas',
        ...common,
        '',
      ].join('\n'),
    )
  })
  afterAll(async () => w.close())

  const ssh = async (host: string, command: string, input?: Buffer) => {
    const { execa } = await import('execa')
    const r = await execa('ssh', ['-F', config, host, command], {
      env: w.env,
      extendEnv: false,
      reject: false,
      encoding: 'buffer',
      stripFinalNewline: false,
      timeout: 60_000,
      ...(input ? { input } : { stdin: 'ignore' }),
    })
    return { exitCode: r.exitCode, stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr).toString() }
  }

  it('reaches a private host one hop away', async () => {
    const r = await ssh('lab-printer', 'echo printer-ok')
    expect(r.stderr).toBe('')
    expect(r.stdout.toString()).toBe('printer-ok\n')
    const session = [...w.box.state.sessions.values()].at(-1)
    expect(session).toMatchObject({
      documentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      target: w.idOf('pi-gateway'),
      parameters: { host: ['10.20.0.10'], portNumber: ['22'] },
    })
  })

  it('reaches a host two hops away and moves 1 MiB through it', async () => {
    const data = randomData(1024 * 1024, 5)
    const r = await ssh('lab-vault', 'cat > f && sha256sum f', data)
    expect(r.stderr).toBe('')
    expect(r.stdout.toString().split(' ')[0]).toBe(sha256(data))
  })

  it('a host the gateway cannot reach fails that stream (ConnectToPortError), named with the jump', async () => {
    const r = await w.proxy(['--via', 'pi-gateway', '10.99.0.1', '22'])
    expect(r.exitCode).toBe(5)
    expect(r.stderr).toMatch(/^ssm-ssh: pi-gateway could not connect to 10\.99\.0\.1:22\n/)
  })

  it('a jump with an agent too old for remote-host forwarding names both versions', async () => {
    const r = await w.proxy(['--via', w.idOf('pi-old'), '10.20.0.10', '22'])
    expect(r.exitCode).toBe(4)
    expect(r.stderr).toMatch(
      /runs SSM Agent 2\.3\.500\.0; AWS-StartPortForwardingSessionToRemoteHost needs 3\.1\.1374\.0 or newer/,
    )
  })
})
