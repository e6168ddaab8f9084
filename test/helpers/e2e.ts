// Helpers for end-to-end tests: the built CLI, a sandbox, a throwaway ssh config, the real ssh.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { type Sandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/sandbox.ts'
import { makeClientKey } from './ssh-key.ts'

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const cli = join(root, 'bin', 'ssm-ssh.mjs')

if (!existsSync(join(root, 'dist', 'main.cjs'))) {
  throw new Error('the e2e tests run the built CLI: run npm run build (npm test does) first')
}

export interface SshResult {
  exitCode: number | undefined
  stdout: Buffer
  stderr: string
}

export interface World {
  box: Sandbox
  dir: string
  config: string
  key: { path: string; publicKey: string }
  env: NodeJS.ProcessEnv
  idOf(name: string): string
  ssh(
    host: string,
    command: string,
    opts?: { input?: Buffer | string; extraArgs?: string[]; timeoutMs?: number },
  ): Promise<SshResult>
  proxy(
    args: string[],
    opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }>
  close(): Promise<void>
}

/** The environment of a test process: its own HOME and AWS files, so no real profile is read. */
export function cleanEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NO_COLOR: '1',
    ...extra,
  }
}

/** A throwaway ssh config: every host through our built CLI's ProxyCommand, with this key only. */
export function writeSshConfig(file: string, keyPath: string, proxyArgs: string[] = []): string {
  writeFileSync(
    file,
    [
      'Host *',
      `  ProxyCommand "${process.execPath}" "${cli}" proxy ${proxyArgs.join(' ')} %h %p`,
      `  IdentityFile ${keyPath}`,
      '  IdentitiesOnly yes',
      '  BatchMode yes',
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  LogLevel ERROR',
      '  ConnectTimeout 30',
      '',
    ].join('\n'),
  )
  return file
}

/** `enroll --ssh` and `reactivate --ssh` flags for an unenrolled Pi: plain ssh with this world's key. */
export function plainSshFlags(pi: { host: string; port: number }, keyPath: string): string[] {
  return [
    '--ssh',
    `pi@${pi.host}`,
    '-p',
    String(pi.port),
    '-i',
    keyPath,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
  ]
}

/**
 * A user's ~/.ssh stand-in for `config --ssh-dir`: 0700, with a config whose Host * gives this world's
 * key and no host-key prompts (what the stanzas ssm-ssh writes leave to the user).
 */
export function userSshDir(w: Pick<World, 'dir' | 'key'>, name: string): string {
  const sshDir = join(w.dir, name)
  mkdirSync(sshDir, { mode: 0o700 })
  writeFileSync(
    join(sshDir, 'config'),
    `Host *\n  IdentityFile ${w.key.path}\n  IdentitiesOnly yes\n  BatchMode yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n`,
  )
  return sshDir
}

export async function startWorld(options: SandboxOptions & { proxyArgs?: string[] } = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-e2e-'))
  const key = makeClientKey(dir)
  const box = await startSandbox({
    fleet: 12,
    stateDir: join(dir, 'sandbox'),
    authorizedKeyFile: `${key.path}.pub`,
    ...options,
  })
  const env = cleanEnv(dir, box.env)
  const config = writeSshConfig(join(dir, 'ssh_config'), key.path, options.proxyArgs ?? [])
  const idOf = (name: string) => {
    const hit = [...box.state.instances.values()].find((i) => i.tags.get('Name') === name)
    if (!hit) throw new Error(`no instance ${name}`)
    return hit.id
  }
  return {
    box,
    dir,
    config,
    key,
    env,
    idOf,
    ssh: async (host, command, opts = {}) => {
      const r = await execa('ssh', ['-F', config, ...(opts.extraArgs ?? []), host, command], {
        env,
        extendEnv: false,
        reject: false,
        encoding: 'buffer',
        stripFinalNewline: false,
        timeout: opts.timeoutMs ?? 120_000,
        ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' }),
      })
      return {
        exitCode: r.exitCode,
        stdout: Buffer.from(r.stdout),
        stderr: Buffer.from(r.stderr).toString('utf8'),
      }
    },
    proxy: async (args, opts = {}) => {
      const r = await execa(process.execPath, [cli, 'proxy', ...args], {
        env: { ...env, ...opts.env },
        extendEnv: false,
        reject: false,
        stdin: 'pipe',
        encoding: 'utf8',
        timeout: opts.timeoutMs ?? 60_000,
      })
      return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) }
    },
    close: async () => {
      await box.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

/** Deterministic pseudo-random bytes (incompressible, so no layer can cheat). */
export function randomData(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out.writeUInt32LE(x >>> 0, Math.min(i, size - 4))
  }
  return out
}
