// A cloned SD card that was never re-activated (seed 002): two real machines, each AWS's own agent,
// with one mi- id. The service hands the control channel to whichever agent connected last, and each
// reports its own ComputerName and IP address when it pings. `ls` sees the id's sightings alternate;
// `doctor` sees that too, and that the machine answering Run Command is not the one last heard.
// ssh by hand just works, on whichever machine holds the channel at that moment (the same host key).
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm'
import { execa } from 'execa'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { RealInstance } from '../../src/sandbox/real/instance.ts'
import { runDoctor } from '../helpers/doctor.ts'
import { cli, startWorld, type World } from '../helpers/e2e.ts'
import { describeReal } from '../helpers/real.ts'

const COPY = 'pi-kitchen-copy'

describeReal('a cloned SD card: two real agents with one mi- id', () => {
  let w: World
  let id: string
  let ssm: SSMClient
  let original: RealInstance
  let copy: RealInstance

  /** The agent stopped and started again as the init script starts it: the machine rebooted, and pings. */
  const reboot = async (machine: RealInstance, hostname: string) => {
    const instance = w.box.state.instances.get(id)
    if (!instance?.roleToken) throw new Error('no role token')
    const stop =
      'pid=$(cat /run/ssm-ssh/agent.pid) && kill -CONT "$pid"; kill -CONT $(pidof ssm-agent-worker); kill -TERM "$pid" && ' +
      'for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done; exit 1'
    expect((await machine.exec(['/bin/sh', '-c', stop])).exitCode).toBe(0)
    instance.computerName = 'before the reboot'
    const start =
      'setsid /usr/bin/amazon-ssm-agent </dev/null >>/var/log/amazon/ssm/restarted.log 2>&1 & echo $! >/run/ssm-ssh/agent.pid'
    const started = await machine.exec(['/bin/sh', '-c', start], {
      env: {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `https://127.0.0.1:443/v2/credentials/${id}`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: instance.roleToken,
        SSL_CERT_FILE: '/etc/ssl/certs/ssm-sandbox-ca.pem',
        HOME: '/root',
      },
    })
    expect(started.exitCode, started.stderr).toBe(0)
    const deadline = Date.now() + 60_000
    while (instance.computerName !== hostname && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100))
    expect(instance.computerName).toBe(hostname)
  }

  /** Who answers Run Command for the id now. */
  const answering = async (): Promise<string> => {
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [id],
        Parameters: { commands: ['hostname'] },
      }),
    )
    for (let n = 0; n < 50; n++) {
      await new Promise((r) => setTimeout(r, 200))
      const inv = await ssm
        .send(new GetCommandInvocationCommand({ CommandId: sent.Command?.CommandId, InstanceId: id }))
        .catch(() => undefined)
      if (inv?.Status === 'Success') return (inv.StandardOutputContent ?? '').trim()
    }
    return ''
  }

  const ls = async (args: string[] = []) => {
    const r = await execa(process.execPath, [cli, 'ls', '--refresh', ...args], {
      env: w.env,
      extendEnv: false,
      reject: false,
    })
    expect(r.exitCode, r.stderr).toBe(0)
    return r
  }

  beforeAll(async () => {
    w = await startWorld({ real: 1, clones: [{ of: 'pi-kitchen', name: COPY }] })
    id = w.idOf('pi-kitchen')
    original = w.box.real.get(id) as RealInstance
    copy = w.box.realClones.get(COPY) as RealInstance
    ssm = new SSMClient({
      endpoint: w.box.endpoint,
      region: w.box.region,
      credentials: { accessKeyId: w.box.accessKeyId, secretAccessKey: w.box.secretAccessKey },
    })
  }, 180_000)
  afterAll(async () => {
    ssm?.destroy()
    await w?.close()
  })

  it('the copy, started last, reported itself under the id: its name, its own address', () => {
    const instance = w.box.state.instances.get(id)
    expect(instance?.computerName).toBe(COPY)
    expect(instance?.ipAddress).toBe('192.168.1.201')
  })

  it('ssh by hand works and lands on either machine: a copied card has the same host key, so ssh cannot tell', async () => {
    const seen = new Set<string>()
    for (let n = 0; n < 6; n++) {
      const r = await w.ssh('pi@pi-kitchen', 'hostname')
      expect(r.exitCode, r.stderr).toBe(0)
      seen.add(r.stdout.toString().trim())
    }
    expect([...seen].every((h) => h === 'pi-kitchen' || h === COPY)).toBe(true)
    const keys = await Promise.all(
      [original, copy].map(
        async (m) => (await m.exec(['cat', '/etc/ssh/ssh_host_ed25519_key.pub'])).stdout.split(' ')[1],
      ),
    )
    expect(keys[0]).toBe(keys[1])
  })

  it('ls: the id alternates between two machines as they reboot → marked, with reactivate as the fix', async () => {
    const first = JSON.parse(String((await ls(['--json'])).stdout)) as Array<{ id: string; clone: boolean }>
    expect(first.find((i) => i.id === id)?.clone).toBe(false)
    await reboot(original, 'pi-kitchen')
    await ls()
    await reboot(copy, COPY)
    const rows = JSON.parse(String((await ls(['--json'])).stdout)) as Array<{
      id: string
      clone: boolean
      sharedId?: boolean
    }>
    expect(rows.find((i) => i.id === id)).toMatchObject({ clone: true, sharedId: true })
    const human = await ls()
    expect(String(human.stdout)).toMatch(/^pi-kitchen \(clone\)\s+mi-/m)
    expect(String(human.stderr)).toContain(
      `warning: ${id} (pi-kitchen) reports from two machines in turn (its ComputerName/IP alternate): a cloned SD card; run ssm-ssh reactivate ${id} on every copy but one`,
    )
  })

  it('doctor: the machine answering is not the one last heard → fail, reactivate', async () => {
    // the copy's agent frozen (a hung card, say), its worker too (it holds the control channel): the
    // original takes the channel back and keeps it, while the service's last report is the copy's
    const freeze = () =>
      copy.exec([
        '/bin/sh',
        '-c',
        'kill -STOP "$(cat /run/ssm-ssh/agent.pid)" && kill -STOP $(pidof ssm-agent-worker)',
      ])
    const instance = w.box.state.instances.get(id)
    for (let attempt = 1; ; attempt++) {
      expect((await freeze()).exitCode).toBe(0)
      const deadline = Date.now() + 60_000
      while ((await answering()) !== 'pi-kitchen' && Date.now() < deadline) {}
      if (instance?.computerName === COPY || attempt === 3) break
      // the original's own health report came in meanwhile (its agent reports on its own schedule):
      // the copy (thawed by the reboot) reports last again, then freezes again
      await reboot(copy, COPY)
    }
    expect(instance?.computerName, 'the service last heard the copy').toBe(COPY)
    const r = await runDoctor(w, ['pi-kitchen'])
    const clones = r.findings.filter((f) => f.check === 'clone' && f.target === id)
    expect(clones).toEqual([
      expect.objectContaining({
        level: 'fail',
        why: expect.stringContaining('the id reports from more than one machine in turn'),
        fix: 'ssm-ssh reactivate pi-kitchen on every copy but one (a cloned SD card keeps the registration)',
      }),
      expect.objectContaining({
        level: 'fail',
        why: `the machine answering as ${id} is pi-kitchen (no LAN address), but the service last heard ${COPY} (192.168.1.201): two machines share this id (a cloned SD card)`,
        fix: 'ssm-ssh reactivate pi-kitchen on every copy but one (a cloned SD card keeps the registration)',
      }),
    ])
    expect(r.exitCode).toBe(11)
  })
})
