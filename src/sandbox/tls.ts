// TLS for the agent's side of the sandbox: a CA and a certificate for 127.0.0.1 and localhost, made once
// per state directory with openssl. The real amazon-ssm-agent speaks only https/wss to MGS, and trusts
// the CA through SSL_CERT_FILE (Go's system pool); clients keep using plain http on the same port.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TlsMaterial {
  /** PEM file of the CA the agent must trust */
  caCertFile: string
  cert: Buffer
  key: Buffer
}

const SERVER_EXTENSIONS = [
  'subjectAltName=DNS:localhost,IP:127.0.0.1',
  'basicConstraints=CA:FALSE',
  'keyUsage=digitalSignature,keyEncipherment',
  'extendedKeyUsage=serverAuth',
  '',
].join('\n')

/** The CA and server certificate of a state directory, made on first use (valid 10 years). */
export async function ensureTlsMaterial(stateDir: string): Promise<TlsMaterial> {
  const dir = join(stateDir, 'tls')
  const file = (name: string) => join(dir, name)
  if (!existsSync(file('server.pem')) || !existsSync(file('server.key')) || !existsSync(file('ca.pem'))) {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const openssl = (...args: string[]) => run('openssl', args, { cwd: dir })
    await openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key')
    await openssl(
      ...['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '3650'],
      ...['-subj', '/CN=ssm-ssh sandbox CA', '-out', 'ca.pem'],
    )
    await openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key')
    await openssl('req', '-new', '-key', 'server.key', '-subj', '/CN=127.0.0.1', '-out', 'server.csr')
    await writeFile(file('server.ext'), SERVER_EXTENSIONS)
    await openssl(
      ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-days', '3650', '-sha256', '-extfile', 'server.ext', '-out', 'server.pem'],
    )
  }
  return {
    caCertFile: file('ca.pem'),
    cert: await readFile(file('server.pem')),
    key: await readFile(file('server.key')),
  }
}
