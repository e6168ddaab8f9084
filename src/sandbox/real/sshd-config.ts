// One OpenSSH server per host of a real instance: the instance itself on 127.0.0.1:22 (where the
// agent's SSH sessions connect) and each private LAN host on its own address, all in the instance's
// network namespace. Each gets its own config, so nothing is read from the machine's /etc/ssh.
import { SFTP_SERVER } from './prerequisites.ts'

export interface LanHost {
  address: string
  users: string[]
  /** addresses whose port 22 this host's sshd may forward to (ssh -J through it) */
  forwardsTo: string[]
}

export interface SshdConfig {
  /** 'instance' for the instance's own sshd, lan-<address> for a LAN host's */
  name: string
  listen: string
  /** where the config lives inside the instance */
  configPath: string
  text: string
}

/** Where the init script puts the LAN hosts' configs and host keys. */
export const SSHD_CONFIG_DIR = '/etc/ssh/ssm-ssh'

/**
 * The instance's own server is configured where a Pi's is, /etc/ssh/sshd_config with
 * /etc/ssh/ssh_host_ed25519_key, so scripts that read the host's keys (push-key pins them) find them.
 */
const paths = (name: string) =>
  name === 'instance'
    ? { configPath: '/etc/ssh/sshd_config', hostKey: '/etc/ssh/ssh_host_ed25519_key' }
    : {
        configPath: `${SSHD_CONFIG_DIR}/${name}.conf`,
        hostKey: `${SSHD_CONFIG_DIR}/${name}_host_ed25519_key`,
      }

/** `permitOpen`: host:port pairs ssh -W / -L / -J may reach through this server; none turns forwarding off. */
function sshdConfig(name: string, listen: string, users: string[], permitOpen: string[]): SshdConfig {
  const { configPath, hostKey } = paths(name)
  const lines = [
    `# ${name}: written by ssm-ssh for a real sandbox instance`,
    `ListenAddress ${listen}:22`,
    `HostKey ${hostKey}`,
    `PidFile /run/${name}-sshd.pid`,
    // No PAM inside a chroot without a login stack; the account must then not be locked ('!' in
    // shadow), which is why the init script sets the password field to '*'.
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'PermitRootLogin no',
    `AllowUsers ${users.join(' ')}`,
    ...(permitOpen.length > 0
      ? ['AllowTcpForwarding yes', `PermitOpen ${permitOpen.join(' ')}`]
      : ['AllowTcpForwarding no']),
    'X11Forwarding no',
    'PrintMotd no',
    'AcceptEnv LANG LC_*',
    `Subsystem sftp ${SFTP_SERVER}`,
    '',
  ]
  return { name, listen, configPath, text: lines.join('\n') }
}

/**
 * The instance's sshd and one per LAN host, which only the instance can reach. The instance forwards
 * to its own loopback (ssh -L to a local service) and to the SSH of the LAN hosts in front: a host
 * that another LAN host forwards to sits behind that one (ssh -J instance,10.20.0.11 10.30.0.5). A
 * LAN host forwards only to the SSH of the hosts it lists. (All addresses share one network
 * namespace: this is sshd's policy, not routing.)
 */
export function sshdConfigs(users: string[], lanHosts: LanHost[]): SshdConfig[] {
  const ssh = (address: string) => `${address}:22`
  const behind = new Set(lanHosts.flatMap((h) => h.forwardsTo))
  const inFront = lanHosts.filter((h) => !behind.has(h.address)).map((h) => ssh(h.address))
  return [
    sshdConfig('instance', '127.0.0.1', users, ['127.0.0.1:*', 'localhost:*', ...inFront]),
    ...lanHosts.map((h) => sshdConfig(`lan-${h.address}`, h.address, h.users, h.forwardsTo.map(ssh))),
  ]
}
