// Key pairs via the system's ssh-keygen: the private key is created 0600 by ssh-keygen itself.
import { access, chmod, mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { CliError } from '../support/errors.ts'

export interface KeyPair {
  privateKeyPath: string
  publicKeyPath: string
  publicKey: string
}

/** Return the ed25519 key pair at `path`, creating it (no passphrase) when it does not exist. */
export async function ensureKeyPair(path: string, comment: string): Promise<KeyPair> {
  const publicKeyPath = `${path}.pub`
  try {
    await access(path)
  } catch {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    const { execa } = await import('execa')
    try {
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], {
        stdin: 'ignore',
      })
    } catch (error) {
      throw new CliError('ssh-keygen could not create a key pair', {
        hint: 'install the OpenSSH client (ssh-keygen must be on PATH)',
        cause: error,
      })
    }
  }
  await chmod(path, 0o600)
  return { privateKeyPath: path, publicKeyPath, publicKey: (await readFile(publicKeyPath, 'utf8')).trim() }
}
