import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A throwaway ed25519 client key made by the real ssh-keygen. */
export function makeClientKey(dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-key-'))): {
  path: string
  publicKey: string
  dir: string
} {
  const path = join(dir, 'id_ed25519')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test@ssm-ssh', '-f', path])
  return { path, publicKey: readFileSync(`${path}.pub`, 'utf8').trim(), dir }
}

export function sshBaseArgs(keyPath: string): string[] {
  return [
    '-i',
    keyPath,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-F',
    '/dev/null',
  ]
}
