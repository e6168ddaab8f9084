// ssm-ssh ls against the sandbox: the merged inventory (SSM tags for mi-, EC2 tags for i-), filters,
// JSON for scripts, and the on-disk cache (0600) that proxy and pick read.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'

describe('ssm-ssh ls', () => {
  let w: World
  const ls = (...args: string[]) =>
    execa(process.execPath, [cli, 'ls', ...args], {
      env: { ...w.env, XDG_CACHE_HOME: join(w.dir, 'cache') },
      extendEnv: false,
      reject: false,
    })
  beforeAll(async () => {
    w = await startWorld()
  })
  afterAll(async () => w.close())

  it('lists every instance with tags, clones flagged, as JSON', async () => {
    const r = await ls('--json')
    expect(r.exitCode).toBe(0)
    const rows = JSON.parse(r.stdout) as Array<{
      id: string
      name: string
      tags: Record<string, string>
      clone: boolean
      pingStatus: string
    }>
    expect(rows).toHaveLength(12)
    const web = rows.find((i) => i.name === 'web-1')!
    expect(web.id).toMatch(/^i-/)
    expect(web.tags).toMatchObject({ Name: 'web-1', env: expect.any(String) })
    expect(rows.find((i) => i.name === 'pi-kitchen')!.tags).toMatchObject({
      Name: 'pi-kitchen',
      site: 'home',
    })
    expect(rows.filter((i) => i.clone).map((i) => i.name)).toEqual(['pi-clone', 'pi-clone'])
    const cacheDir = join(w.dir, 'cache', 'ssm-ssh')
    const [file] = readdirSync(cacheDir, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name)
    expect(statSync(join(cacheDir, file as string)).mode & 0o777).toBe(0o600)
  })

  it('filters by status, tag and text; the table marks clones', async () => {
    const offline = JSON.parse((await ls('--json', '--filter', 'status=ConnectionLost')).stdout) as Array<{
      name: string
    }>
    expect(offline.map((i) => i.name)).toContain('pi-offline')
    const tagged = JSON.parse((await ls('--json', '--filter', 'tag:Name=pi-garage')).stdout) as Array<{
      name: string
    }>
    expect(tagged.map((i) => i.name)).toEqual(['pi-garage'])
    const table = await ls('clone')
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+ID\s+STATUS\s+PLATFORM\s+IP\s+AGENT\s+LAST SEEN$/)
    expect(table.stdout).toMatch(/pi-clone \(clone\)\s+mi-[0-9a-f]{17}\s+Online/)
    expect(table.stderr).toMatch(/2 of 12 instances \(cached/)
  })
})

describe('cloud values never drive the terminal (OSC/CSI from tags and agent-reported fields came through)', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld()
    const attic = w.box.state.instances.get(w.idOf('pi-attic'))
    if (!attic) throw new Error('no pi-attic')
    // what an instance (its agent reports IP and version) or a tagger can put there
    attic.tags.set('Name', 'pi-attic\u001b]0;owned\u0007\u001b[2J')
    attic.ipAddress = '192.168.0.9\u001b[31m'
    attic.agentVersion = '3.3.1142.0\u001b]52;c;ZXZpbA==\u0007'
  })
  afterAll(async () => w.close())
  const run = (...args: string[]) =>
    execa(process.execPath, [cli, ...args], {
      env: { ...w.env, XDG_CACHE_HOME: join(w.dir, 'cache-hostile') },
      extendEnv: false,
      reject: false,
    })

  const controls = (text: string) =>
    [...text].filter((c) => ['\u001b', '\u0007', '\u009b'].includes(c)).length

  it('in ls, in errors and in warnings', async () => {
    const table = await run('ls', '--refresh')
    expect(table.exitCode).toBe(0)
    expect(table.stdout).toContain('pi-attic')
    expect(controls(table.stdout + table.stderr)).toBe(0)
    const error = await run('proxy', 'pi-attic\u001b]0;owned\u0007', '22')
    expect(error.exitCode).toBe(4)
    // the OSC sequence is dropped whole: what is left is the name as a person reads it
    expect(error.stderr).toMatch(/^ssm-ssh: no managed instance named "pi-attic"\n/)
    expect(controls(error.stderr)).toBe(0)
    // --json is data for programs: the values as the cloud gave them, JSON-escaped
    const json = await run('ls', '--json')
    expect(json.stdout).toContain('\\u001b]0;owned')
  })
})
