// PID 1 of a real instance: builds the instance inside the namespaces `unshare` just made (loopback,
// an overlay of the machine's root whose writes land in <dir>/upper, /dev, /proc, users, sshd, the
// forwarder to the sandbox, the agent), then waits on stdin. The sandbox holds the other end of that
// pipe, so when the sandbox dies, even by SIGKILL, `read` sees EOF, PID 1 exits and the kernel kills
// everything in the PID namespace and drops every mount with the private mount namespace.
// It stays bash, not `exec sleep`: PID 1 must reap the orphans that sessions leave behind.
//
// argv: MARKER DIR SANDBOX_PID (the marker lets reap.ts find instances whose sandbox is gone).
// DIR/instance.env and DIR/seed/ are written by instance.ts; see instanceEnv() for the variables.
// (String.raw keeps bash's backslashes; the script avoids `${`, which a template literal would take.)

export const INIT_SCRIPT = String.raw`set -eEuo pipefail
umask 022
dir=$2
root=$dir/root
seed=$dir/seed
source "$dir/instance.env"
inside_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf '%s init: %s\n' "$(date +%T.%3N)" "$*"; }
# inside: a command in the instance's root with a clean environment, stdin off our lifeline.
# start: a background job, exec'd so no bash subshell (with PID 1's argv and marker) stays its parent.
inside() { env -i PATH=$inside_path HOME=/root LANG=C.UTF-8 chroot "$root" "$@" </dev/null; }
start() { exec env -i PATH=$inside_path HOME=/root LANG=C.UTF-8 "$@" </dev/null; }
trap 'say "SIGTERM during start-up"; exit 143' TERM
trap 'say "start-up failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

say "instance $INSTANCE_ID ($HOST_NAME), sandbox pid $3"

# Network: loopback only, so nothing the agent tries (instance metadata, public AWS endpoints)
# can leave the machine. LAN hosts' private addresses exist in this namespace alone.
ip link set lo up
for address in $LAN_ADDRESSES; do ip addr add "$address/32" dev lo; done
if [ -n "$OWN_ADDRESS" ]; then ip addr add "$OWN_ADDRESS/32" dev lo; fi

# The root: the machine's own / read-only underneath, writes in $dir/upper.
mkdir -p "$dir/upper" "$dir/work" "$root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$dir/upper,workdir=$dir/work" "$root"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys" || say "no sysfs (continuing)"
mount -t tmpfs -o mode=755,nosuid tmpfs "$root/dev"
for node in null zero full random urandom tty; do
  touch "$root/dev/$node"
  mount --bind "/dev/$node" "$root/dev/$node"
done
mkdir "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$root/run"
mkdir -p "$root/run/sshd" "$root/run/ssm-ssh"

# The agent where it looks for itself: binaries in /usr/bin make it read /etc/amazon/ssm.
for binary in $AGENT_BINARIES; do
  : >"$root/usr/bin/$binary"
  mount --bind -o ro "$AGENT_BIN_DIR/$binary" "$root/usr/bin/$binary"
done
install -D -m 0644 "$seed/amazon-ssm-agent.json" "$root/etc/amazon/ssm/amazon-ssm-agent.json"
install -D -m 0644 "$seed/seelog.xml" "$root/etc/amazon/ssm/seelog.xml"
install -D -m 0644 "$seed/ca.pem" "$root/etc/ssl/certs/ssm-sandbox-ca.pem"
if [ "$UNENROLLED" = yes ]; then
  # A Pi fresh out of the box: the agent is installed with an init script (no systemd here) and
  # trusts the sandbox through the system's CA bundle, whoever starts it; nothing registers it.
  install -D -m 0755 "$seed/amazon-ssm-agent.init" "$root/etc/init.d/amazon-ssm-agent"
  bundle=$root/etc/ssl/certs/ca-certificates.crt
  { [ -f "$bundle" ] && cat "$bundle"; cat "$seed/ca.pem"; } >"$dir/ca-bundle.tmp"
  rm -f "$bundle"
  install -m 0644 "$dir/ca-bundle.tmp" "$bundle"
  rm -f "$dir/ca-bundle.tmp"
fi

# The platform the agent reports, when it is not this machine's (an Amazon Linux EC2 instance)
if [ -s "$seed/os-release" ]; then
  rm -f "$root/etc/os-release"
  install -m 0644 "$seed/os-release" "$root/etc/os-release"
fi

hostname "$HOST_NAME"
echo "$HOST_NAME" >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$HOST_NAME" >"$root/etc/hosts"
cat "$seed/hosts" >>"$root/etc/hosts"

# Users as on Raspberry Pi OS: the first owns the machine and may sudo without a password.
add_user() {
  inside id -u "$1" >/dev/null 2>&1 || inside useradd -m -s /bin/bash "$1"
  # useradd leaves the password '!' (locked); without PAM, sshd refuses locked accounts even for keys.
  inside usermod -p '*' "$1"
  if [ -s "$seed/authorized_key" ]; then
    home=$(inside getent passwd "$1" | cut -d: -f6)
    install -d -m 0700 "$root$home/.ssh"
    install -m 0600 "$seed/authorized_key" "$root$home/.ssh/authorized_keys"
    inside chown -R "$1:" "$home/.ssh"
  fi
}
for user in $USERS $LAN_USERS; do add_user "$user"; done
inside getent group sudo >/dev/null || inside groupadd --system sudo
inside usermod -aG sudo "$OWNER"
install -d -m 0755 "$root/etc/sudoers.d"
echo "$OWNER ALL=(ALL) NOPASSWD: ALL" >"$root/etc/sudoers.d/010_pi-nopasswd"
chmod 0440 "$root/etc/sudoers.d/010_pi-nopasswd"

# sshd: the instance's on 127.0.0.1, one per LAN host on its address. Logs stay on the machine.
mkdir -p "$dir/logs"
install -d -m 0755 "$root/etc/ssh/ssm-ssh"
# The machine's own host keys are not the instance's: whiteouts in the overlay, then keys of its own.
rm -f "$root"/etc/ssh/ssh_host_*
# nor this machine's own AWS credentials, if it has any: the instance starts without
rm -rf "$root/root/.aws"
for conf in "$seed"/sshd/*.conf; do
  name=$(basename "$conf" .conf)
  if [ "$name" = instance ]; then
    config=/etc/ssh/sshd_config key=/etc/ssh/ssh_host_ed25519_key
  else
    config=/etc/ssh/ssm-ssh/$name.conf key=/etc/ssh/ssm-ssh/$name"_host_ed25519_key"
  fi
  install -m 0644 "$conf" "$root$config"
  inside ssh-keygen -q -t ed25519 -N '' -C "root@$HOST_NAME" -f "$key"
  start chroot "$root" /usr/sbin/sshd -D -e -f "$config" >>"$dir/logs/sshd-$name.log" 2>&1 &
done

# The sandbox's HTTPS endpoint, as the agent sees it: 127.0.0.1:$SERVICE_PORT in here, a Unix socket
# on the machine's file system out there (socat runs outside the chroot to reach it).
start socat "TCP-LISTEN:$SERVICE_PORT,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$SERVICE_SOCKET" \
  >>"$dir/logs/socat.log" 2>&1 &

# Start the agent only once everything it dials listens: when its first health ping fails (after
# three retries, ~10 s) it hibernates and asks again only after 5 minutes.
wait_listening() {
  for _ in $(seq 200); do
    [ -n "$(ss -Hltn "src $1 and sport = :$2")" ] && return 0
    sleep 0.025
  done
  say "nothing listens on $1:$2"
  return 1
}
wait_listening 127.0.0.1 "$SERVICE_PORT"
for address in 127.0.0.1 $LAN_ADDRESSES; do wait_listening "$address" 22; done

# An unenrolled Pi answers plain SSH from the machine: its port 22 on a socket in its dir, which the
# sandbox forwards from a 127.0.0.1 port (its own network namespace has loopback only).
if [ "$UNENROLLED" = yes ]; then
  start socat "UNIX-LISTEN:$dir/ssh.sock,fork,mode=0600,unlink-early" "TCP:127.0.0.1:22" \
    >>"$dir/logs/socat-ssh.log" 2>&1 &
  for _ in $(seq 200); do [ -S "$dir/ssh.sock" ] && break; sleep 0.025; done
  agent=
  : >"$root/run/ssm-ssh/unenrolled"
  say "unenrolled: the agent is installed, not registered and not running"
else
# The agent's credential chain (environment, root's shared credentials file, a container endpoint,
# instance metadata) ends at the role's endpoint on the sandbox, as on EC2 it ends at the instance
# profile: a key left in /root/.aws/credentials shadows it, as seed 001 warns.
start AWS_CONTAINER_CREDENTIALS_FULL_URI="https://127.0.0.1:$SERVICE_PORT/v2/credentials/$INSTANCE_ID" \
  AWS_CONTAINER_AUTHORIZATION_TOKEN="$ROLE_TOKEN" SSL_CERT_FILE=/etc/ssl/certs/ssm-sandbox-ca.pem \
  chroot "$root" /usr/bin/amazon-ssm-agent >>"$dir/logs/agent-output.log" 2>&1 &
agent=$!
echo "$agent" >"$root/run/ssm-ssh/agent.pid"
fi

set +e
trap - ERR
stop() {
  # on an unenrolled Pi, whatever its init script started
  [ -n "$agent" ] || agent=$(cat "$root/run/amazon-ssm-agent.pid" 2>/dev/null) || agent=
  [ -n "$agent" ] || exit 0
  say "$1: stopping the agent"
  kill -TERM "$agent" 2>/dev/null
  for _ in $(seq 20); do kill -0 "$agent" 2>/dev/null || break; sleep 0.1; done
  exit 0
}
trap 'stop SIGTERM' TERM
say "ready: agent pid $agent"
echo "$agent" >"$dir/ready"
agent_up=yes
[ -n "$agent" ] || agent_up=no
# bash reaps adopted orphans only between commands, not while blocked in read (a CHLD trap does not
# help without job control): the 1 s timeout bounds how long a session's orphan stays a zombie.
while :; do
  read -r -t 1 _ && continue
  [ $? -gt 128 ] || break
  if [ $agent_up = yes ] && ! kill -0 "$agent" 2>/dev/null; then say "the agent exited"; agent_up=no; fi
done
say "stdin closed: the sandbox is gone"
exit 0
`

/** What the script sources from DIR/instance.env. */
export interface InstanceEnv {
  INSTANCE_ID: string
  HOST_NAME: string
  SERVICE_SOCKET: string
  SERVICE_PORT: string
  AGENT_BIN_DIR: string
  /** space-separated, as are the lists below */
  AGENT_BINARIES: string
  OWNER: string
  USERS: string
  LAN_ADDRESSES: string
  LAN_USERS: string
  /** the instance's own LAN address beside loopback, or '' */
  OWN_ADDRESS: string
  /** the agent's token for its role's credentials endpoint (instance-spec.ts roleToken) */
  ROLE_TOKEN: string
  /** 'yes': installed, not registered, not started; plain SSH through DIR/ssh.sock (instance-spec.ts) */
  UNENROLLED: string
}

/**
 * /etc/init.d/amazon-ssm-agent of an unenrolled Pi: how `enroll` starts and stops the agent where no
 * systemd runs. The agent gets a clean environment with HOME=/root, so the credentials it shares land
 * in /root/.aws/credentials as under systemd.
 */
export const AGENT_INIT_SCRIPT = `#!/bin/sh
# amazon-ssm-agent: start | stop | restart | status (the ssm-ssh sandbox's unenrolled Pis)
pidfile=/run/amazon-ssm-agent.pid
running() { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
case "$1" in
start)
  running && exit 0
  mkdir -p /var/log/amazon/ssm
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \\
    setsid /usr/bin/amazon-ssm-agent </dev/null >>/var/log/amazon/ssm/agent-output.log 2>&1 &
  echo $! >"$pidfile" ;;
stop)
  if running; then
    pid=$(cat "$pidfile")
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pidfile" ;;
restart) "$0" stop; "$0" start ;;
status) running ;;
*) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
`

const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`

export function instanceEnv(env: InstanceEnv): string {
  return Object.entries(env)
    .map(([name, value]) => `${name}=${shellQuote(value)}\n`)
    .join('')
}
