import { chmodSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Instance } from '../domain/instance.ts'
import { resolvePaths } from '../support/paths.ts'
import { readInventoryCache, writeInventoryCache } from './inventory-cache.ts'

const instance: Instance = {
  id: 'mi-0123456789abcdef0',
  name: 'pi-kitchen',
  computerName: 'pi-kitchen.local',
  ipAddress: '192.168.1.10',
  pingStatus: 'Online',
  platform: 'Raspbian',
  agentVersion: '3.3.1142.0',
  resourceType: 'ManagedInstance',
  tags: {},
}

describe('the inventory cache is trusted only when it is ours (ids from it reach ssh’s argv)', () => {
  const fresh = async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ssm-ssh-cache-')), 'ssm-ssh')
    const path = join(dir, 'inventory-default-eu-west-1.json')
    await writeInventoryCache(path, [instance], new Date())
    return { dir, path }
  }

  it('reads its own 0600 file in its own 0700 directory', async () => {
    const { path } = await fresh()
    expect((await readInventoryCache(path))?.instances.map((i) => i.id)).toEqual([instance.id])
  })

  it('ignores a file others may write, a directory others may write, and a symlink', async () => {
    const a = await fresh()
    chmodSync(a.path, 0o666)
    expect(await readInventoryCache(a.path)).toBeUndefined()
    const b = await fresh()
    chmodSync(b.dir, 0o777)
    expect(await readInventoryCache(b.path)).toBeUndefined()
    const c = await fresh()
    const elsewhere = join(c.dir, 'elsewhere.json')
    writeFileSync(elsewhere, readFileSync(c.path), { mode: 0o600 })
    const link = join(c.dir, 'inventory-x-y.json')
    symlinkSync(elsewhere, link)
    expect(await readInventoryCache(link)).toBeUndefined()
  })

  it('an id that starts with "-" (it reached ssh as an option: -F evil.conf) makes the whole cache untrusted', async () => {
    const { path } = await fresh()
    const file = JSON.parse(readFileSync(path, 'utf8')) as { instances: Array<{ id: string }> }
    file.instances.push({ ...file.instances[0], id: '-Fevil.conf' } as { id: string })
    writeFileSync(path, JSON.stringify(file), { mode: 0o600 })
    expect(await readInventoryCache(path)).toBeUndefined()
  })

  it('a relative XDG_CACHE_HOME is ignored, as the XDG spec says (it put the caches in ssh’s working directory)', () => {
    expect(
      resolvePaths({ HOME: '/home/u', XDG_CACHE_HOME: 'cache', XDG_STATE_HOME: './state' }),
    ).toMatchObject({
      cacheDir: '/home/u/.cache/ssm-ssh',
      stateDir: '/home/u/.local/state/ssm-ssh',
    })
    expect(resolvePaths({ HOME: '/home/u', XDG_CACHE_HOME: '/var/c' }).cacheDir).toBe('/var/c/ssm-ssh')
  })
})

describe('the inventory cache keeps what each id reported (a cloned id alternates)', () => {
  it('appends a sighting when the ComputerName or IP changes, and keeps them across writes', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ssm-ssh-cache-')), 'ssm-ssh')
    const path = join(dir, 'inventory-default-eu-west-1.json')
    const copy = { ...instance, computerName: 'pi-kitchen-copy', ipAddress: '192.168.1.201' }
    await writeInventoryCache(path, [instance], new Date())
    await writeInventoryCache(path, [instance], new Date())
    await writeInventoryCache(path, [copy], new Date())
    const sightings = await writeInventoryCache(path, [instance], new Date())
    const expected = [
      { computerName: 'pi-kitchen.local', ipAddress: '192.168.1.10' },
      { computerName: 'pi-kitchen-copy', ipAddress: '192.168.1.201' },
      { computerName: 'pi-kitchen.local', ipAddress: '192.168.1.10' },
    ]
    expect(sightings.get(instance.id)).toEqual(expected)
    expect((await readInventoryCache(path))?.sightings.get(instance.id)).toEqual(expected)
  })

  it('drops sightings of malformed ids or shapes rather than trusting them', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ssm-ssh-cache-')), 'ssm-ssh')
    const path = join(dir, 'inventory-default-eu-west-1.json')
    await writeInventoryCache(path, [instance], new Date())
    const file = JSON.parse(readFileSync(path, 'utf8'))
    file.sightings['-F evil'] = [{ computerName: 'x', ipAddress: 'y' }]
    file.sightings[instance.id].push({ computerName: 1 })
    writeFileSync(path, JSON.stringify(file), { mode: 0o600 })
    const read = await readInventoryCache(path)
    expect([...(read?.sightings.keys() ?? [])]).toEqual([instance.id])
    expect(read?.sightings.get(instance.id)).toEqual([
      { computerName: 'pi-kitchen.local', ipAddress: '192.168.1.10' },
    ])
  })
})
