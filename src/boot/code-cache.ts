// Runs the CLI bundle (dist/main.cjs, one CommonJS file) through vm.Script with a V8 code cache,
// so a ProxyCommand does not parse and compile the SDK and the transport on every connection. Node 20
// has no code cache for ES modules (module.enableCompileCache is Node 22), hence the CommonJS bundle.
//
// The cache is written once per bundle, Node version and kind of run (proxy or anything else), by
// the first run of that kind that succeeds, late in the run: at exit, or for a proxy once the session
// is up (before support/heap.ts changes a V8 flag). So it holds the functions that run compiled
// lazily as well, the credential chain, the request and the handshake included. It lives in
// $XDG_CACHE_HOME/ssm-ssh/code-cache/ (0700), one 0600 file a kind, written atomically; a file that
// is not ours or is writable by others is ignored. SSM_SSH_CODE_CACHE=0 turns it off. V8 checks a
// cache against its own version, flags and the source's length and rejects what does not fit; the
// file name carries a hash of the bundle, so a rebuilt bundle never meets an old cache. V8 does not
// check the body of a cache and dies on a damaged one, so a sha256 of the body leads the file.
import { createHash } from 'node:crypto'
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, join } from 'node:path'
import { Script } from 'node:vm'
import { offerCodeCacheSaver } from '../support/code-cache-hook.ts'
import { resolvePaths } from '../support/paths.ts'

/** Node's own CommonJS wrapper, on a line of its own so line numbers stay those of the bundle. */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) {\n'
const WRAPPER_TAIL = '\n})'

export type CacheState = 'off' | 'hit' | 'miss' | 'rejected'

export interface LoadedBundle {
  /** off: no cache dir or SSM_SSH_CODE_CACHE=0; miss: none yet; rejected: damaged, or V8 refused it */
  readonly cache: CacheState
  /** where this run's cache lives (undefined when off) */
  readonly cacheFile: string | undefined
  /** evaluate the bundle as require() would (with this require, by default Node's), and return its exports */
  run(require?: NodeJS.Require): unknown
  /** write the cache from what has been compiled so far; false if it could not be written */
  save(): boolean
}

export interface LoadOptions {
  /** the CLI's arguments: they pick the kind of run (runKind) */
  argv: readonly string[]
  /** a cache of its own for a chunk: the run's kind and the chunk's name */
  kind?: string
  env: NodeJS.ProcessEnv
  /** the owner a cache file must have (process.getuid()); undefined skips the check */
  uid?: number | undefined
}

/** proxy runs are many and short and compile a different set of functions from the other commands */
export function runKind(argv: readonly string[]): 'proxy' | 'cli' {
  return argv.includes('proxy') ? 'proxy' : 'cli'
}

/** $XDG_CACHE_HOME/ssm-ssh/code-cache, beside the fleet cache (support/paths.ts); undefined when off. */
export function codeCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.SSM_SSH_CODE_CACHE === '0') return undefined
  try {
    return join(resolvePaths(env).cacheDir, 'code-cache')
  } catch {
    return undefined // no home directory to be found: run without a cache
  }
}

/** The cache file for this bundle's content, this Node and this kind of run. */
export function codeCacheFile(dir: string, bundle: Buffer, kind: string): string {
  const digest = createHash('sha256').update(bundle).digest('hex').slice(0, 16)
  return join(dir, `${kind}-${process.version}-${process.arch}-${digest}.v8`)
}

/** A sha256 of the data leads the file: V8 checks a cache's header, not its body, and crashes on a bad one. */
const DIGEST = 32

/**
 * The cached data, if the file exists, is a regular file of ours that nobody else may write, and is
 * whole; 'damaged' if its digest does not match.
 */
export function readCodeCache(file: string, uid: number | undefined): Buffer | 'damaged' | undefined {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch {
    return undefined
  }
  let bytes: Buffer
  try {
    const st = fstatSync(fd)
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) return undefined
    bytes = readFileSync(fd)
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
  const data = bytes.subarray(DIGEST)
  const digest = createHash('sha256').update(data).digest()
  return bytes.length > DIGEST && digest.equals(bytes.subarray(0, DIGEST)) ? data : 'damaged'
}

/** Atomically (temporary file, then rename), 0600; then drops this kind's caches of other builds. */
export function writeCodeCache(file: string, data: Buffer): boolean {
  const dir = dirname(file)
  const temporary = `${file}.${process.pid}.tmp`
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const digest = createHash('sha256').update(data).digest()
    writeFileSync(temporary, Buffer.concat([digest, data]), { mode: 0o600, flag: 'wx' })
    renameSync(temporary, file)
  } catch {
    try {
      unlinkSync(temporary)
    } catch {
      // never created
    }
    return false
  }
  const name = basename(file)
  const kind = name.slice(0, name.indexOf('-') + 1)
  try {
    for (const other of readdirSync(dir)) {
      if (other !== name && other.startsWith(kind) && other.endsWith('.v8')) unlinkSync(join(dir, other))
    }
  } catch {
    // another run pruned it first, or the directory went away: the cache is a convenience
  }
  return true
}

export function loadBundle(bundlePath: string, options: LoadOptions): LoadedBundle {
  const bytes = readFileSync(bundlePath)
  const dir = codeCacheDir(options.env)
  const kind = options.kind ?? runKind(options.argv)
  const cacheFile = dir === undefined ? undefined : codeCacheFile(dir, bytes, kind)
  const found = cacheFile === undefined ? undefined : readCodeCache(cacheFile, options.uid)
  const cachedData = found instanceof Buffer ? found : undefined
  const script = new Script(WRAPPER_HEAD + bytes.toString('utf8') + WRAPPER_TAIL, {
    filename: bundlePath,
    lineOffset: -1,
    ...(cachedData ? { cachedData } : {}),
  })
  const cache: CacheState =
    cacheFile === undefined
      ? 'off'
      : found === undefined
        ? 'miss'
        : found === 'damaged' || script.cachedDataRejected
          ? 'rejected'
          : 'hit'
  return {
    cache,
    cacheFile,
    run(require = createRequire(bundlePath)) {
      const module = { exports: {} }
      const wrapper = script.runInThisContext() as (
        exports: unknown,
        require: NodeJS.Require,
        module: unknown,
        filename: string,
        dirname: string,
      ) => void
      wrapper.call(module.exports, module.exports, require, module, bundlePath, dirname(bundlePath))
      return module.exports
    },
    save: () => cacheFile !== undefined && writeCodeCache(cacheFile, script.createCachedData()),
  }
}

export interface RunOptions extends LoadOptions {
  /** process.once('exit', …) */
  onExit(listener: (code: number) => void): void
}

const fromProcess = (): RunOptions => ({
  argv: process.argv.slice(2),
  env: process.env,
  uid: process.getuid?.(),
  onExit: (listener) => process.once('exit', listener),
})

/**
 * bin/ssm-ssh.mjs: run the CLI and leave caches behind where none fitted. The bundle's require loads
 * our other bundles (`./name.cjs` beside it: the EC2 SDK, which proxy never needs) the same way, each
 * with a cache of its own. They are written at exit with 0, or earlier when the bundle is about to
 * change a V8 flag (support/heap.ts), whichever comes first, and once.
 */
export function runBundle(bundlePath: string, options: RunOptions = fromProcess()): LoadedBundle {
  const loaded: LoadedBundle[] = []
  const chunks = new Map<string, unknown>()
  const kind = runKind(options.argv)
  const requireFor = (from: string): NodeJS.Require => {
    const node = createRequire(from)
    const ours = (id: string) => id.startsWith('./') && id.endsWith('.cjs') && !id.includes('/', 2)
    return Object.assign((id: string) => {
      if (!ours(id)) return node(id)
      const path = join(dirname(from), id)
      if (!chunks.has(path)) {
        const chunk = loadBundle(path, { ...options, kind: `${kind}.${basename(path, '.cjs')}` })
        loaded.push(chunk)
        chunks.set(path, chunk.run(requireFor(path)))
      }
      return chunks.get(path)
    }, node) as NodeJS.Require
  }
  const bundle = loadBundle(bundlePath, options)
  loaded.push(bundle)
  let done = false
  const saveOnce = () => {
    if (done) return
    done = true
    for (const b of loaded) if (b.cache === 'miss' || b.cache === 'rejected') b.save()
  }
  offerCodeCacheSaver(saveOnce, bundle.cache)
  options.onExit((code) => {
    if (code === 0) saveOnce()
  })
  bundle.run(requireFor(bundlePath))
  return bundle
}
