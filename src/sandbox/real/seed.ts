// A real instance's dir before PID 1 starts: init.sh, instance.env (its variables, 0600: they hold
// the credentials) and seed/ (the agent's config, the CA, sshd configs, the authorized key), from
// which the init script builds the instance.
import { existsSync } from 'node:fs'
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { agentConfigJson, SEELOG_XML } from './agent-config.ts'
import { AGENT_INIT_SCRIPT, INIT_SCRIPT, instanceEnv } from './init-script.ts'
import type { RealInstanceSpec } from './instance-spec.ts'
import { AGENT_BINARIES } from './prerequisites.ts'
import { killInstance, liveInstanceProcesses } from './reap.ts'
import { sshdConfigs } from './sshd-config.ts'

/** Used when present; the agent runs without them. */
const OPTIONAL_AGENT_BINARIES = ['ssm-session-logger', 'ssm-cli']

const unique = <T>(items: T[]) => [...new Set(items)]

/** init.sh, instance.env and seed/: everything the init script builds the instance from. */
export async function writeSeed(spec: RealInstanceSpec, dir: string): Promise<void> {
  const lanHosts = spec.lanHosts ?? []
  const seed = join(dir, 'seed')
  await mkdir(join(seed, 'sshd'), { recursive: true })
  await writeFile(join(dir, 'init.sh'), INIT_SCRIPT, { mode: 0o700 })
  const binaries = [
    ...AGENT_BINARIES,
    ...OPTIONAL_AGENT_BINARIES.filter((b) => existsSync(join(spec.agentBinDir, b))),
  ]
  const env = instanceEnv({
    INSTANCE_ID: spec.id,
    HOST_NAME: spec.hostname,
    SERVICE_SOCKET: spec.serviceSocket,
    SERVICE_PORT: String(spec.servicePort),
    AGENT_BIN_DIR: resolve(spec.agentBinDir),
    AGENT_BINARIES: binaries.join(' '),
    OWNER: spec.users[0] as string,
    USERS: spec.users.join(' '),
    LAN_ADDRESSES: lanHosts.map((h) => h.address).join(' '),
    OWN_ADDRESS: spec.ownAddress ?? '',
    LAN_USERS: unique(lanHosts.flatMap((h) => h.users)).join(' '),
    ROLE_TOKEN: spec.roleToken,
    UNENROLLED: spec.unenrolled ? 'yes' : 'no',
  })
  await writeFile(join(dir, 'instance.env'), env, { mode: 0o600 })
  const config = agentConfigJson({
    region: spec.region,
    servicePort: spec.servicePort,
    ...(spec.unenrolled ? { selfRegistered: true } : { instanceId: spec.id }),
  })
  await writeFile(join(seed, 'amazon-ssm-agent.json'), config)
  if (spec.unenrolled) await writeFile(join(seed, 'amazon-ssm-agent.init'), AGENT_INIT_SCRIPT)
  await writeFile(join(seed, 'seelog.xml'), SEELOG_XML)
  await copyFile(spec.caCertFile, join(seed, 'ca.pem'))
  // /etc/hosts lines after the instance's own, one per address, in the order the names resolve
  const names = Object.entries(spec.lanNames ?? {}).flatMap(([name, list]) =>
    list.map((a) => `${a}\t${name}\n`),
  )
  await writeFile(join(seed, 'hosts'), names.join(''))
  if (spec.authorizedKey) await writeFile(join(seed, 'authorized_key'), `${spec.authorizedKey.trim()}\n`)
  if (spec.osRelease) await writeFile(join(seed, 'os-release'), spec.osRelease)
  for (const sshd of sshdConfigs(spec.users, lanHosts)) {
    await writeFile(join(seed, 'sshd', `${sshd.name}.conf`), sshd.text)
  }
}

/** Kill what a crashed run left in `dir` (same dir, so ours to clean), then start it afresh. */
export async function resetDir(dir: string): Promise<void> {
  killInstance(dir)
  const deadline = Date.now() + 3000
  while (liveInstanceProcesses(dir).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
}
