// The agent as a Debian package, for `enroll --package-url` to install on a Pi that lacks it: the
// sandbox serves GET /packages/amazon-ssm-agent_<arch>.deb (AWS publishes one per architecture:
// debian_arm64, debian_arm, debian_amd64), built once per state directory with dpkg-deb from the
// agent binaries the real instances run. Only this machine's architecture exists; another is a 404,
// as a key missing from the download bucket is.
import { execFile } from 'node:child_process'
import { createReadStream, existsSync } from 'node:fs'
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const PATH = /^\/packages\/amazon-ssm-agent_([a-z0-9]+)\.deb$/
export const AGENT_PACKAGE_VERSION = '3.3.1142.0-1'

export interface AgentPackageSource {
  /** the agent's binaries (amazon-ssm-agent, its workers): every file in it goes to /usr/bin */
  binDir: string
  /** where the built package is kept */
  stateDir: string
}

/** dpkg's name for this machine's architecture (amd64, arm64, armhf). */
async function machineArch(): Promise<string> {
  return (await run('dpkg', ['--print-architecture'])).stdout.trim()
}

/** Builds the package once; resolves with its path, or undefined for an architecture not this one. */
export function agentPackages(source: AgentPackageSource): (arch: string) => Promise<string | undefined> {
  let built: Promise<{ arch: string; file: string }> | undefined
  const build = async () => {
    const arch = await machineArch()
    const dir = join(source.stateDir, 'packages')
    const file = join(dir, `amazon-ssm-agent_${arch}.deb`)
    if (existsSync(file)) return { arch, file }
    const tree = join(dir, `tree-${process.pid}`)
    await rm(tree, { recursive: true, force: true })
    await mkdir(join(tree, 'DEBIAN'), { recursive: true })
    await mkdir(join(tree, 'usr', 'bin'), { recursive: true })
    for (const b of await readdir(source.binDir))
      await copyFile(join(source.binDir, b), join(tree, 'usr', 'bin', b))
    await writeFile(
      join(tree, 'DEBIAN', 'control'),
      [
        'Package: amazon-ssm-agent',
        `Version: ${AGENT_PACKAGE_VERSION}`,
        `Architecture: ${arch}`,
        'Maintainer: ssm-ssh sandbox <sandbox@localhost>',
        'Section: admin',
        'Priority: optional',
        'Description: Amazon SSM Agent (the binaries the sandbox runs)',
        '',
      ].join('\n'),
    )
    // stored uncompressed: ~100 MB of binaries copied, not squeezed, in about a second
    await run('dpkg-deb', ['--root-owner-group', '-Znone', '--build', tree, `${file}.tmp`])
    await rename(`${file}.tmp`, file)
    await rm(tree, { recursive: true, force: true })
    return { arch, file }
  }
  return async (arch) => {
    built ??= build()
    const { arch: ours, file } = await built
    return arch === ours ? file : undefined
  }
}

/** Serves GET /packages/amazon-ssm-agent_<arch>.deb; false when the request is not for it. */
export function handleAgentPackage(
  packages: ((arch: string) => Promise<string | undefined>) | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const m = PATH.exec((req.url ?? '/').split('?')[0] as string)
  if (req.method !== 'GET' || !m || !packages) return false
  packages(m[1] as string).then(
    async (file) => {
      if (!file) {
        res.writeHead(404, { 'Content-Type': 'text/plain' })
        res.end('no package for this architecture\n')
        return
      }
      res.writeHead(200, {
        'Content-Type': 'application/vnd.debian.binary-package',
        'Content-Length': (await stat(file)).size,
      })
      createReadStream(file).pipe(res)
    },
    (error: Error) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' })
      res.end(`could not build the package: ${error.message.split('\n')[0]}\n`)
    },
  )
  return true
}
