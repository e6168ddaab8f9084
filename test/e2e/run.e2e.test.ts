// ssm-ssh run end to end: the built CLI against a sandbox of 200 tagged instances (30 offline, one
// old agent). One prefixed line per online host, the offline ones reported and never sent, an exit
// code that names the failures, --json for scripts, Ctrl-C cancelling, truncation and hostile output
// handled, and the same fan-out over ssh.
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimInstance } from '../../src/sandbox/model.ts'
import { cli, startWorld, type World } from '../helpers/e2e.ts'
import { sshBaseArgs } from '../helpers/ssh-key.ts'

const TAGGED = 200
const OFFLINE = 30

describe('ssm-ssh run', () => {
  let w: World
  let tagged: SimInstance[]
  let online: SimInstance[]
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    execa(process.execPath, [cli, 'run', ...args], {
      env: { ...w.env, USER: 'tester', ...env },
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    })
  const commandsSince = (n: number) => [...w.box.state.commands.values()].slice(n)

  beforeAll(async () => {
    w = await startWorld({ fleet: 280, seed: 16 })
    // the field: 200 Pis tagged site=home, 30 of them offline, pi-old's agent 2.3.500.0 among them
    const pis = [...w.box.state.instances.values()].filter((i) => i.kind === 'hybrid')
    tagged = pis.slice(0, TAGGED)
    for (const i of pis.slice(TAGGED)) i.tags.delete('site')
    const old = tagged.find((i) => i.agentVersion === '2.3.500.0')
    expect(old?.pingStatus).toBe('Online')
    const kept = ['pi-kitchen', 'pi-garage', 'pi-attic']
    const mayGoOffline = tagged.filter((i) => i !== old && !kept.includes(i.tags.get('Name') ?? ''))
    mayGoOffline.forEach((i, n) => {
      i.pingStatus = n < OFFLINE ? 'ConnectionLost' : 'Online'
    })
    online = tagged.filter((i) => i.pingStatus === 'Online')
    expect(online).toHaveLength(TAGGED - OFFLINE)
  }, 60_000)
  afterAll(async () => w?.close())

  it("tag:site=home -- 'uname -n': a prefixed line per online host, offline ones reported and not sent", async () => {
    const before = w.box.state.commands.size
    const r = await run(['tag:site=home', '--', 'uname -n'])
    const lines = r.stdout.split('\n').filter(Boolean)
    expect(lines).toHaveLength(online.length)
    const names = lines.map((l) => /^([^\t]+)\t(.+)$/.exec(l)?.[1])
    expect(names.sort()).toEqual(online.map((i) => i.tags.get('Name')).sort())
    const offline = tagged.filter((i) => i.pingStatus !== 'Online')
    for (const i of offline)
      expect(r.stderr).toContain(`${i.tags.get('Name')}\t[offline, not sent: ConnectionLost, last seen`)
    // sent as ids (the tag also covers offline nodes), 50 a call, to online nodes only
    const sent = commandsSince(before)
    expect(sent.map((c) => c.instanceIds.length).sort()).toEqual([20, 50, 50, 50])
    const reached = new Set(sent.flatMap((c) => [...c.invocations.keys()]))
    expect(offline.some((i) => reached.has(i.id))).toBe(false)
    expect(sent[0]?.comment).toBe('ssm-ssh run by tester: uname -n')
    expect(r.exitCode).toBe(4)
    expect(r.stderr).toMatch(/^ssm-ssh: 170 of 200 hosts succeeded; not reached: .+ and 22 more$/m)
  })

  it('--json: one object per host that parses, offline ones included', async () => {
    const r = await run(['tag:site=home', '--json', '--', 'echo "$HOME"'])
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(rows).toHaveLength(TAGGED)
    const ok = rows.filter((row) => row.status === 'Success')
    expect(ok).toHaveLength(online.length)
    for (const row of ok) {
      expect(row).toMatchObject({ exitCode: 0, stderr: '', truncated: false })
      expect(row.stdout).toBe(`${w.box.state.instances.get(String(row.id))?.home}\n`)
    }
    expect(rows.filter((row) => row.status === 'Offline')).toHaveLength(OFFLINE)
    expect(r.exitCode).toBe(4)
  })

  it('a whole tag of online nodes is one SendCommand with Targets', async () => {
    const before = w.box.state.commands.size
    const r = await run(['tag:Name=pi-kitchen', '--', 'echo hi'])
    expect(r.stdout).toBe('pi-kitchen\thi')
    expect(r.exitCode).toBe(0)
    const [sent] = commandsSince(before)
    expect(sent?.targets).toEqual([{ Key: 'tag:Name', Values: ['pi-kitchen'] }])
    expect(sent?.instanceIds).toEqual([])
  })

  it('a tag over many pages: every host reported once while waves finish, each invocation page read about once', async () => {
    const wave = online.slice(0, 120)
    for (const i of wave) i.tags.set('wave', '1')
    const before = { commands: w.box.state.commands.size, requests: w.box.state.requests.length }
    const r = await run([
      'tag:wave=1',
      '--refresh',
      '--max-concurrency',
      '20',
      '--',
      'sleep 0.3; echo "$HOME"',
    ])
    expect(r.exitCode).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines).toHaveLength(120)
    expect(new Set(lines)).toEqual(new Set(wave.map((i) => `${i.tags.get('Name')}\t${i.home}`)))
    const [sent] = commandsSince(before.commands)
    expect(sent?.targets).toEqual([{ Key: 'tag:wave', Values: ['1'] }])
    // 3 pages of 50: a poll resumes at the first page still running and stops once it found as many as
    // ListCommands counted, so each page is read once, plus the one a poll finds half done
    const calls = (op: string) =>
      w.box.state.requests.slice(before.requests).filter((q) => q.operation === op).length
    const polls = calls('ListCommands')
    expect(polls).toBeGreaterThan(1)
    expect(calls('ListCommandInvocations')).toBeLessThanOrEqual(3 + polls)
  })

  it('streams results as hosts finish, and Ctrl-C cancels the rest: nothing stays InProgress', async () => {
    const before = w.box.state.commands.size
    const child: ResultPromise = execa(
      process.execPath,
      [cli, 'run', 'tag:site=home', '--max-concurrency', '8', '--', 'sleep 2; echo finished'],
      { env: w.env, extendEnv: false, reject: false },
    )
    let firstAt = 0
    child.stdout?.on('data', () => {
      firstAt ||= Date.now()
    })
    const started = Date.now()
    while (!firstAt && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 100))
    expect(firstAt).toBeGreaterThan(0)
    child.kill('SIGINT')
    const r = await child
    expect(r.exitCode).toBe(130)
    const sent = commandsSince(before)
    const invocations = sent.flatMap((c) => [...c.invocations.values()])
    expect(
      invocations.filter((i) => ['Pending', 'InProgress', 'Delayed', 'Cancelling'].includes(i.status)),
    ).toEqual([])
    const finished = invocations.filter((i) => i.status === 'Success').length
    expect(finished).toBeGreaterThan(0)
    expect(finished).toBeLessThan(online.length)
    expect(invocations.filter((i) => i.status === 'Cancelled').length).toBe(online.length - finished)
    // what ran was reported: every host that finished has its line (a script killed just after its
    // echo is Cancelled with that output, and its line is there too)
    const printed = String(r.stdout).split('\n')
    for (const i of invocations.filter((x) => x.status === 'Success'))
      expect(printed).toContain(`${w.box.state.instances.get(i.instanceId)?.tags.get('Name')}\tfinished`)
    expect(String(r.stderr)).toMatch(/^ssm-ssh: cancelled: \d+ of 200 hosts had succeeded$/m)
  }, 60_000)

  it('one host passes its exit code through; stdout and stderr stay apart', async () => {
    const r = await run(['pi-kitchen', '--', 'echo out; echo err >&2; exit 3'])
    expect(r.stdout).toBe('pi-kitchen\tout')
    expect(r.stderr).toContain('pi-kitchen\terr\n')
    expect(r.stderr).toContain('pi-kitchen\t[exit 3]\n')
    expect(r.exitCode).toBe(3)
  })

  it('hostile output cannot drive the terminal; truncation at 24,000 characters is flagged', async () => {
    const r = await run([
      'pi-kitchen',
      '--',
      `printf '\\033]0;owned\\007\\033[2Jok\\n'; head -c 30000 /dev/zero | tr '\\0' x`,
    ])
    expect(r.stdout.startsWith('pi-kitchen\tok\npi-kitchen\txxx')).toBe(true)
    expect(r.stdout).not.toContain('\u001b')
    expect(r.stdout.length).toBeLessThan(24_100)
    expect(r.stdout).toContain('--output truncated--')
    expect(r.stderr).toMatch(/\[output truncated by Run Command .* --output-s3-bucket or --cloudwatch-output/)
    expect(r.exitCode).toBe(0)
    // the full output's way out is passed on to the service as given
    const before = w.box.state.commands.size
    await run(['pi-kitchen', '--output-s3-bucket', 'fleet-logs', '--output-s3-prefix', 'run', '--', 'true'])
    expect(commandsSince(before)[0]).toMatchObject({
      outputS3BucketName: 'fleet-logs',
      outputS3KeyPrefix: 'run',
    })
  })

  it('execution timeouts and undeliverable nodes are reported as such', async () => {
    const slow = await run(['pi-garage', '--timeout', '5', '--', 'sleep 30'])
    expect(slow.stderr).toContain('pi-garage\t[exit 137, timed out (--timeout)]')
    expect(slow.exitCode).toBe(1)
    // listed Online (the cache), gone by the time the command is sent
    const gone = w.box.state.instances.get(w.idOf('pi-attic')) as SimInstance
    gone.pingStatus = 'Inactive'
    try {
      const r = await run(['pi-attic', 'pi-kitchen', '--', 'true'])
      expect(r.stderr).toContain('pi-attic\t[undeliverable: the node is gone or its agent does not answer]')
      expect(r.exitCode).toBe(4)
    } finally {
      gone.pingStatus = 'Online'
    }
  })

  it('an id the service does not know: one clear line, exit 4, no stack', async () => {
    const r = await run(['mi-00000000000000000', '--', 'true'])
    expect(r.stderr).toMatch(
      /^ssm-ssh: not a managed instance of this account and region \(SendCommand\)\n {2}hint: /,
    )
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.exitCode).toBe(4)
  })

  it('--max-errors stops the rest; a document for another platform fails as such', async () => {
    const five = ['pi-kitchen', 'pi-garage', 'pi-attic', 'web-1', 'web-2']
    const r = await run([...five, '--max-concurrency', '1', '--max-errors', '1', '--', 'exit 2'])
    expect(r.stderr.match(/\t\[exit 2\]$/gm)).toHaveLength(2)
    expect(r.stderr.match(/\t\[not run: more hosts failed than --max-errors allows\]$/gm)).toHaveLength(3)
    expect(r.exitCode).toBe(1)
    const ps = await run(['pi-kitchen', 'web-1', '--document', 'AWS-RunPowerShellScript', '--', 'Get-Date'])
    expect(ps.stderr).toContain('pi-kitchen\t[the document does not run on this platform (--document)]')
    expect(ps.exitCode).toBe(1)
  })

  it('--via ssh: the same fan-out over ssh sessions, old agents set aside', async () => {
    const dir = join(w.dir, "it's here")
    mkdirSync(dir)
    const r = await run([
      'pi-kitchen',
      'pi-garage',
      'pi-old',
      '--via',
      'ssh',
      '--parallel',
      '2',
      '-l',
      'pi',
      // the test key and no host-key prompt; run passes -i and -o on to ssh (not -F)
      ...sshBaseArgs(w.key.path).slice(0, -2),
      '--working-dir',
      dir,
      '--',
      'pwd; echo "$USER"',
    ])
    expect(r.stderr).toContain(
      'pi-old\t[agent too old, not sent: SSM Agent 2.3.500.0, ssh needs 2.3.672.0 or newer]',
    )
    const lines = r.stdout.split('\n').filter(Boolean).sort()
    expect(lines).toEqual([`pi-garage\t${dir}`, 'pi-garage\tpi', `pi-kitchen\t${dir}`, 'pi-kitchen\tpi'])
    expect(r.exitCode).toBe(4)
    // no host-key policy given: first-seen keys are kept under the instance ids, and used next time
    const knownHosts = join(w.dir, 'known_hosts')
    const sshRun = () =>
      run([
        'pi-kitchen',
        'pi-garage',
        '--via',
        'ssh',
        '-l',
        'pi',
        '-i',
        w.key.path,
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '--',
        'true',
      ])
    expect((await sshRun()).exitCode).toBe(0)
    // (ssh-keygen -F finds them whether or not the system's ssh hashes known_hosts)
    for (const name of ['pi-kitchen', 'pi-garage'])
      expect(
        execFileSync('ssh-keygen', ['-F', w.idOf(name), '-f', knownHosts], { encoding: 'utf8' }),
      ).toMatch(/ssh-ed25519 /)
    expect((await sshRun()).exitCode).toBe(0)
  })
})
