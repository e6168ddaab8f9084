import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { codeCacheState, saveCodeCacheNow } from '../support/code-cache-hook.ts'
import { codeCacheDir, loadBundle, readCodeCache, runBundle, runKind, writeCodeCache } from './code-cache.ts'

let dir: string
let bundle: string
const uid = process.getuid?.()
type Probe = {
  runs: number
  filename?: string
  exportsIsModuleExports?: boolean
  path?: string
  answer?: number
  chunkRuns?: number
}
const probe = () => (globalThis as unknown as { __codeCacheProbe: Probe }).__codeCacheProbe

function writeBundle(body = ''): void {
  writeFileSync(
    bundle,
    [
      'const p = (globalThis.__codeCacheProbe ??= { runs: 0 })',
      'p.runs++',
      'p.filename = __filename',
      'p.exportsIsModuleExports = exports === module.exports',
      "p.path = typeof require('node:path').join",
      'function later(x) { return x * 2 }',
      'later(21)',
      body,
    ].join('\n'),
  )
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-code-cache-'))
  bundle = join(dir, 'bundle.cjs')
  writeBundle()
  delete (globalThis as { __codeCacheProbe?: unknown }).__codeCacheProbe
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const env = () => ({ XDG_CACHE_HOME: join(dir, 'cache') })
const cacheFiles = () => readdirSync(join(dir, 'cache', 'ssm-ssh', 'code-cache'))

describe('code cache', () => {
  it('places the cache beside the fleet cache, and can be turned off', () => {
    expect(codeCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/ssm-ssh/code-cache')
    expect(codeCacheDir({ HOME: '/home/pi' })).toBe('/home/pi/.cache/ssm-ssh/code-cache')
    expect(codeCacheDir({ HOME: '/home/pi', SSM_SSH_CODE_CACHE: '0' })).toBeUndefined()
  })

  it('keeps proxy runs apart from the other commands', () => {
    expect(runKind(['proxy', 'pi-kitchen', '22'])).toBe('proxy')
    expect(runKind(['--profile', 'lab', 'proxy', 'i-0abc', '22'])).toBe('proxy')
    expect(runKind(['ls', '--json'])).toBe('cli')
  })

  it('runs the bundle as CommonJS: its file name, exports and require', () => {
    const loaded = loadBundle(bundle, { argv: ['ls'], env: {}, uid })
    loaded.run()
    expect(probe()).toEqual({ runs: 1, filename: bundle, exportsIsModuleExports: true, path: 'function' })
  })

  it('misses first, writes a 0600 file in a 0700 directory, then hits', () => {
    const first = loadBundle(bundle, { argv: ['proxy', 'x'], env: env(), uid })
    expect(first.cache).toBe('miss')
    first.run()
    expect(first.save()).toBe(true)
    const file = first.cacheFile as string
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'cache', 'ssm-ssh', 'code-cache')).mode & 0o777).toBe(0o700)
    expect(cacheFiles()).toEqual([file.split('/').pop()])
    expect(file).toContain(`proxy-${process.version}-${process.arch}-`)

    const second = loadBundle(bundle, { argv: ['proxy', 'x'], env: env(), uid })
    expect(second.cache).toBe('hit')
    expect(second.cacheFile).toBe(file)
    second.run()
    expect(probe().runs).toBe(2)
    // another kind of run has a cache of its own
    expect(loadBundle(bundle, { argv: ['ls'], env: env(), uid }).cache).toBe('miss')
  })

  it('refuses a damaged cache (V8 itself would crash on it), and the next save replaces it', () => {
    const first = loadBundle(bundle, { argv: ['ls'], env: env(), uid })
    first.run()
    first.save()
    const file = first.cacheFile as string
    const data = readFileSync(file)
    data.fill(0x5a, data.length >> 1, (data.length >> 1) + 8)
    writeFileSync(file, data, { mode: 0o600 })
    expect(readCodeCache(file, uid)).toBe('damaged')
    const second = loadBundle(bundle, { argv: ['ls'], env: env(), uid })
    expect(second.cache).toBe('rejected')
    second.run()
    expect(probe().runs).toBe(2)
    expect(second.save()).toBe(true)
    expect(loadBundle(bundle, { argv: ['ls'], env: env(), uid }).cache).toBe('hit')
    writeFileSync(file, data.subarray(0, 20), { mode: 0o600 })
    expect(readCodeCache(file, uid)).toBe('damaged')
  })

  it('a cache V8 refuses (another V8 wrote it) is rejected, not run', () => {
    const first = loadBundle(bundle, { argv: ['ls'], env: env(), uid })
    first.save()
    const file = first.cacheFile as string
    const data = (readCodeCache(file, uid) as Buffer).subarray()
    data.fill(0x5a, 4, 12) // V8's version and source hash: a well-formed file from elsewhere
    writeCodeCache(file, Buffer.from(data))
    // another path: V8's in-memory cache of this process knows the first one's source and origin
    const copy = join(dir, 'copy.cjs')
    writeFileSync(copy, readFileSync(bundle))
    const second = loadBundle(copy, { argv: ['ls'], env: env(), uid })
    expect(second.cacheFile).toBe(file)
    expect(second.cache).toBe('rejected')
    second.run()
    expect(probe().runs).toBe(1)
  })

  it('a rebuilt bundle gets a new file, and the old build of that kind is dropped', () => {
    const first = loadBundle(bundle, { argv: ['ls'], env: env(), uid })
    first.save()
    const proxy = loadBundle(bundle, { argv: ['proxy', 'x'], env: env(), uid })
    proxy.save()
    writeBundle('later(1)')
    const rebuilt = loadBundle(bundle, { argv: ['ls'], env: env(), uid })
    expect(rebuilt.cache).toBe('miss')
    expect(rebuilt.cacheFile).not.toBe(first.cacheFile)
    rebuilt.save()
    expect(cacheFiles().sort()).toEqual(
      [rebuilt.cacheFile, proxy.cacheFile].map((f) => (f as string).split('/').pop()).sort(),
    )
  })

  it('ignores a cache file others may write, or that another user owns', () => {
    const first = loadBundle(bundle, { argv: ['ls'], env: env(), uid })
    first.save()
    const file = first.cacheFile as string
    expect(readCodeCache(file, uid)).toBeInstanceOf(Buffer)
    if (uid !== undefined) expect(readCodeCache(file, uid + 1)).toBeUndefined()
    chmodSync(file, 0o620)
    expect(readCodeCache(file, uid)).toBeUndefined()
    expect(loadBundle(bundle, { argv: ['ls'], env: env(), uid }).cache).toBe('miss')
    expect(readCodeCache(join(dir, 'none.v8'), uid)).toBeUndefined()
  })

  it('turned off, it reads and writes nothing', () => {
    const off = loadBundle(bundle, { argv: ['proxy'], env: { ...env(), SSM_SSH_CODE_CACHE: '0' }, uid })
    expect(off.cache).toBe('off')
    off.run()
    expect(off.save()).toBe(false)
    expect(() => cacheFiles()).toThrow()
  })

  it('a cache that cannot be written is no error', () => {
    writeFileSync(join(dir, 'cache'), 'a file where the directory should be')
    const loaded = loadBundle(bundle, { argv: ['ls'], env: env(), uid })
    loaded.run()
    expect(loaded.save()).toBe(false)
    expect(writeCodeCache(join(dir, 'cache', 'x', 'y.v8'), Buffer.from('z'))).toBe(false)
  })

  it('runBundle writes the cache at exit with 0 only, once', () => {
    const exits: ((code: number) => void)[] = []
    const options = { argv: ['ls'], env: env(), uid, onExit: (l: (code: number) => void) => exits.push(l) }
    const failed = runBundle(bundle, options)
    expect(failed.cache).toBe('miss')
    exits.pop()?.(1)
    expect(() => cacheFiles()).toThrow()
    expect(runBundle(bundle, options).cache).toBe('miss')
    exits.pop()?.(0)
    expect(cacheFiles()).toHaveLength(1)
    const file = join(dir, 'cache', 'ssm-ssh', 'code-cache', cacheFiles()[0] as string)
    const written = statSync(file).mtimeMs
    expect(runBundle(bundle, options).cache).toBe('hit')
    exits.pop()?.(0)
    expect(statSync(file).mtimeMs).toBe(written)
    expect(cacheFiles()).toHaveLength(1)
  })

  it('the bundle can ask for the cache early (before it changes a V8 flag), and exit does not write it again', () => {
    writeBundle('globalThis[Symbol.for("ssm-ssh.save-code-cache")]?.()')
    const exits: ((code: number) => void)[] = []
    const run = runBundle(bundle, { argv: ['proxy'], env: env(), uid, onExit: (l) => exits.push(l) })
    const file = run.cacheFile as string
    const written = statSync(file).mtimeMs
    rmSync(file)
    exits.pop()?.(0)
    expect(() => statSync(file)).toThrow()
    expect(written).toBeGreaterThan(0)
    expect(codeCacheState()).toBe('miss')
    // from source, with no loader around, asking is a no-op
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('ssm-ssh.save-code-cache')]
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('ssm-ssh.code-cache-state')]
    expect(() => saveCodeCacheNow()).not.toThrow()
    expect(codeCacheState()).toBe('none')
  })

  it('loads our other bundles beside it (./name.cjs) once each, with caches of their own', () => {
    writeFileSync(
      join(dir, 'chunk.cjs'),
      'globalThis.__codeCacheProbe.chunkRuns = (globalThis.__codeCacheProbe.chunkRuns ?? 0) + 1\nexports.answer = 42',
    )
    writeBundle(
      "p.answer = require('./chunk.cjs').answer + require('./chunk.cjs').answer\np.base = require('node:path').basename(__dirname)",
    )
    const exits: ((code: number) => void)[] = []
    runBundle(bundle, { argv: ['ls'], env: env(), uid, onExit: (l) => exits.push(l) })
    expect(probe()).toMatchObject({ answer: 84, chunkRuns: 1 })
    exits.pop()?.(0)
    const names = cacheFiles().sort()
    expect(names).toHaveLength(2)
    expect(names[0]).toMatch(/^cli-v/)
    expect(names[1]).toMatch(/^cli\.chunk-v/)
  })
})
