// What a machine needs before the sandbox can start real instances: root (namespaces, overlay and
// bind mounts, chroot), the Linux tools that build an instance, OpenSSH's server, and AWS's agent.
// Checked up front so a test skips, or the demo refuses, with one line that says what to install.
import { existsSync } from 'node:fs'
import { delimiter, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The binaries an instance cannot run without; ssm-session-logger and ssm-cli are used when present. */
export const AGENT_BINARIES = [
  'amazon-ssm-agent',
  'ssm-agent-worker',
  'ssm-session-worker',
  'ssm-document-worker',
] as const

export const SSHD = '/usr/sbin/sshd'
export const SFTP_SERVER = '/usr/lib/openssh/sftp-server'

/** Root's tools live in sbin, which a non-login shell's PATH may leave out. */
export const TOOL_PATH = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin']
  .filter(Boolean)
  .join(delimiter)

const AGENT_BIN_TAIL = '../shared/tools/amazon-ssm-agent/bin'

function agentBinCandidates(): string[] {
  // From src/sandbox/real/ the repo is three levels up; in the bundle (dist/main.cjs, where
  // import.meta.url is the bundle's URL) it is one. Running from the repo, the cwd is the last resort.
  const here = fileURLToPath(import.meta.url)
  return [
    resolve(here, '../../../..', AGENT_BIN_TAIL),
    resolve(here, '../..', AGENT_BIN_TAIL),
    resolve(process.cwd(), AGENT_BIN_TAIL),
  ]
}

/** SSM_SSH_AGENT_BIN_DIR, else the first `<repo>/../shared/tools/amazon-ssm-agent/bin` that exists. */
export function defaultAgentBinDir(): string {
  return (
    process.env.SSM_SSH_AGENT_BIN_DIR ??
    agentBinCandidates().find((dir) => existsSync(dir)) ??
    (agentBinCandidates()[0] as string)
  )
}

const TOOLS: Array<{ command: string; from: string }> = [
  { command: 'unshare', from: 'util-linux' },
  { command: 'nsenter', from: 'util-linux' },
  { command: 'chroot', from: 'coreutils' },
  { command: 'ip', from: 'iproute2' },
  { command: 'ss', from: 'iproute2' },
  { command: 'useradd', from: 'passwd' },
  { command: 'socat', from: 'socat' },
  { command: 'ssh-keygen', from: 'openssh-client' },
]

export function findTool(command: string): string | undefined {
  return TOOL_PATH.split(delimiter)
    .map((dir) => join(dir, command))
    .find((path) => existsSync(path))
}

/** Why real instances cannot start here, in one line, or undefined when they can. */
export function realInstancesUnavailable(agentBinDir: string): string | undefined {
  if (process.platform !== 'linux') return `real instances need Linux (this is ${process.platform})`
  const uid = process.getuid?.()
  if (uid !== 0) return `real instances need root (uid ${uid})`
  for (const { command, from } of TOOLS) {
    if (!findTool(command)) return `real instances need ${command}: apt-get install ${from}`
  }
  if (!existsSync(SSHD)) return `real instances need ${SSHD}: apt-get install openssh-server`
  if (!existsSync(SFTP_SERVER))
    return `real instances need ${SFTP_SERVER}: apt-get install openssh-sftp-server`
  const missing = AGENT_BINARIES.filter((name) => !existsSync(join(agentBinDir, name)))
  if (missing.length > 0) {
    return `real instances need the agent binaries: ${missing.join(', ')} not in ${agentBinDir} (set SSM_SSH_AGENT_BIN_DIR)`
  }
  return undefined
}
