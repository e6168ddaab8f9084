// ls and pick on a fake inventory: a fresh cache file, so no AWS call is made (the endpoint is a
// closed port on 127.0.0.1 and would fail loudly if one were).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cachePath, writeInventoryCache } from '../aws/inventory-cache.ts'
import type { Context } from '../cli/command.ts'
import type { Instance } from '../domain/instance.ts'
import { buildIndex, rank } from '../domain/rank.ts'
import { CancelledError, UsageError } from '../support/errors.ts'
import { type TestIo, testIo } from '../support/io.ts'
import { silentLog } from '../support/log.ts'
import { ls, parse as parseLs } from './ls.ts'
import { parse as parsePick, pick } from './pick.ts'

const NOW = new Date('2026-03-01T12:00:00Z')
const ENDPOINT = 'http://127.0.0.1:9'

const inst = (id: string, name: string, extra: Partial<Instance> = {}): Instance => ({
  id,
  name,
  computerName: `${name}.local`,
  ipAddress: '10.0.0.1',
  pingStatus: 'Online',
  lastPing: new Date(NOW.getTime() - 30_000),
  platform: 'Raspbian GNU/Linux 12',
  agentVersion: '3.3.987.0',
  resourceType: 'ManagedInstance',
  tags: {},
  ...extra,
})

const FLEET = [
  inst('mi-0000000000000000a', 'pi-kitchen', { tags: { room: 'kitchen' } }),
  inst('mi-0000000000000000b', 'pi-garage', { ipAddress: '10.0.0.2' }),
  inst('mi-0000000000000000c', 'pi-shed', {
    pingStatus: 'ConnectionLost',
    lastPing: new Date(NOW.getTime() - 3 * 86_400_000),
  }),
  inst('mi-0000000000000000d', 'pi-clone'),
  inst('mi-0000000000000000e', 'pi-clone'),
  inst('i-0123456789abcdef0', 'web-1', { resourceType: 'EC2Instance', platform: 'Ubuntu 24.04' }),
]

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssm-ssh-ls-pick-'))
  await writeInventoryCache(cachePath(dir, 'test@127.0.0.1:9', 'eu-west-1'), FLEET, NOW)
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function context(io: TestIo, signal = new AbortController().signal): Context {
  return {
    io,
    log: silentLog,
    env: {},
    signal,
    now: () => NOW,
    global: {
      profile: 'test',
      region: 'eu-west-1',
      endpoint: ENDPOINT,
      debug: false,
      verbose: false,
      quiet: true,
    },
    paths: { home: dir, sshDir: join(dir, '.ssh'), cacheDir: dir, stateDir: join(dir, 'state') },
    executable: { node: process.execPath, script: '/nonexistent/ssm-ssh.mjs' },
  }
}

describe('ssm-ssh ls', () => {
  it('prints a table for people: every column, clones marked, no colour off a terminal', async () => {
    const io = testIo()
    expect(await ls.run(parseLs([]), context(io))).toBe(0)
    const lines = io.stdoutText().trimEnd().split('\n')
    expect(lines[0]).toMatch(/^NAME\s+ID\s+STATUS\s+PLATFORM\s+IP\s+AGENT\s+LAST SEEN$/)
    expect(lines).toHaveLength(FLEET.length + 1)
    expect(lines.filter((l) => l.includes('(clone)'))).toHaveLength(2)
    expect(lines.find((l) => l.includes('pi-shed'))).toMatch(/ConnectionLost/)
    expect(io.stdoutText()).not.toContain('\u001b[')
  })

  it('dims offline rows on a colour terminal', async () => {
    const io = testIo({ isStdoutTTY: true })
    await ls.run(parseLs([]), context(io))
    const shed = io
      .stdoutText()
      .split('\n')
      .find((l) => l.includes('pi-shed'))
    expect(shed?.startsWith('\u001b[2m')).toBe(true)
    const kitchen = io
      .stdoutText()
      .split('\n')
      .find((l) => l.includes('pi-kitchen'))
    expect(kitchen).not.toContain('\u001b[')
  })

  it('--json: every field, lastPing as ISO, clone flag', async () => {
    const io = testIo()
    await ls.run(parseLs(['--json']), context(io))
    const rows = JSON.parse(io.stdoutText()) as Array<Record<string, unknown>>
    expect(rows.map((r) => r.id)).toEqual(FLEET.map((i) => i.id))
    expect(rows.filter((r) => r.clone).map((r) => r.id)).toEqual([
      'mi-0000000000000000d',
      'mi-0000000000000000e',
    ])
    expect(rows[0]).toMatchObject({
      name: 'pi-kitchen',
      computerName: 'pi-kitchen.local',
      pingStatus: 'Online',
      lastPing: '2026-03-01T11:59:30.000Z',
      tags: { room: 'kitchen' },
    })
  })

  it.each([
    [['--filter', 'status=ConnectionLost'], ['mi-0000000000000000c']],
    [['--filter', 'platform=ubuntu'], ['i-0123456789abcdef0']],
    [['--filter', 'tag:room=kitchen'], ['mi-0000000000000000a']],
    [['garage'], ['mi-0000000000000000b']],
    [
      ['--filter', 'status=Online', 'clone'],
      ['mi-0000000000000000d', 'mi-0000000000000000e'],
    ],
  ])('ls %j', async (argv, ids) => {
    const io = testIo()
    await ls.run(parseLs([...argv, '--json']), context(io))
    expect((JSON.parse(io.stdoutText()) as Array<{ id: string }>).map((r) => r.id)).toEqual(ids)
  })
})

describe('ssm-ssh pick', () => {
  const tty = () => testIo({ isStdinTTY: true, isStderrTTY: true })
  /** Resolves once the picker has drawn a screen containing `text` (on stderr). */
  const drawn = (io: TestIo, text: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!io.stderrText().includes(text)) return
        io.stderr.off('data', check)
        resolve()
      }
      io.stderr.on('data', check)
      check()
    })

  it('without a terminal: a usage error naming what to use instead', async () => {
    const run = pick.run(parsePick([]), context(testIo()))
    await expect(run).rejects.toBeInstanceOf(UsageError)
    await expect(run).rejects.toMatchObject({ hint: expect.stringMatching(/ls --json/) })
  })

  it('--print: type a query, Enter prints the best match on stdout; the picker draws on stderr', async () => {
    const io = tty()
    const run = pick.run(parsePick(['--print']), context(io))
    await drawn(io, 'pi-kitchen')
    io.stdinWrite('garage')
    await drawn(io, '1/6')
    io.stdinWrite('\r')
    expect(await run).toBe(0)
    expect(io.stdoutText()).toBe('mi-0000000000000000b\n')
  })

  it('arrows move between ranked rows; clones are flagged in the picker', async () => {
    const io = tty()
    const run = pick.run(parsePick(['--print', 'clone']), context(io))
    await drawn(io, '2/6')
    expect(io.stderrText().match(/pi-clone \(clone\)/g)?.length).toBeGreaterThanOrEqual(2)
    io.stdinWrite('\u001b[B') // down
    await drawn(io, '❯ pi-clone (clone)  mi-0000000000000000e')
    io.stdinWrite('\r')
    expect(await run).toBe(0)
    expect(io.stdoutText()).toBe('mi-0000000000000000e\n')
  })

  it('arrows scroll past the rows ranked first in a large fleet; Enter takes the row under the cursor', async () => {
    // the ranker orders the best 64 matches first and the rest only once the cursor goes past them
    const big = Array.from({ length: 300 }, (_, n) =>
      inst(`mi-${n.toString(16).padStart(17, '0')}`, `pi-${(n * 7919) % 300}`, {
        pingStatus: n % 3 === 0 ? 'ConnectionLost' : 'Online',
      }),
    )
    await writeInventoryCache(cachePath(dir, 'test@127.0.0.1:9', 'eu-west-1'), big, NOW)
    const expected = rank(buildIndex(big), 'pi')[70]!.instance
    const io = tty()
    const run = pick.run(parsePick(['--print', 'pi']), context(io))
    await drawn(io, '300/300')
    io.stdinWrite('\u001b[B'.repeat(70))
    await drawn(io, `❯ ${expected.name} `)
    io.stdinWrite('\r')
    expect(await run).toBe(0)
    expect(io.stdoutText()).toBe(`${expected.id}\n`)
  })

  it('Ctrl-C cancels with exit 130', async () => {
    const io = tty()
    const run = pick.run(parsePick(['--print']), context(io))
    await drawn(io, 'pi-kitchen')
    io.stdinWrite('\u0003')
    await expect(run).rejects.toBeInstanceOf(CancelledError)
    expect(io.stdoutText()).toBe('')
  })
})
