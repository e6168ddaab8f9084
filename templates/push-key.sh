# ssm-ssh push-key: add one temporary public key for one user, remove it after the TTL.
# Values arrive single-quoted by ssm-ssh; nothing here is interpolated into another command line.
set -eu
user=__USER__
keyline=__KEYLINE__
plainline=__PLAINLINE__
marker=__MARKER__
ttl=__TTL__
home="${SSM_SSH_SANDBOX_HOME:-}"
if [ -z "$home" ]; then
  home=$(getent passwd "$user" | cut -d: -f6)
fi
if [ -z "$home" ]; then
  echo "ssm-ssh: no user $user on this host" >&2
  exit 3
fi
mkdir -p "$home/.ssh"
chmod 700 "$home/.ssh"
touch "$home/.ssh/authorized_keys"
chmod 600 "$home/.ssh/authorized_keys"
if [ "$(id -u)" = 0 ] && [ -z "${SSM_SSH_SANDBOX_HOME:-}" ]; then
  chown "$user:" "$home/.ssh" "$home/.ssh/authorized_keys"
fi
# sshd < 7.7 rejects a line with expiry-time (unknown option): there, the scheduled removal alone
ver=$( { sshd -V 2>&1 || true; ssh -V 2>&1 || true; } | sed -n 's/.*OpenSSH_\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' | head -n 1)
if [ -n "$ver" ] && [ -z "${SSM_SSH_SANDBOX_HOME:-}" ]; then
  set -- $ver
  if [ "$1" -lt 7 ] || { [ "$1" -eq 7 ] && [ "$2" -lt 7 ]; }; then keyline="$plainline"; fi
fi
printf '%s\n' "$keyline" >> "$home/.ssh/authorized_keys"
# Removal after the TTL, detached so it outlives this command; expiry-time covers sshd >= 7.7 anyway.
file="$home/.ssh/authorized_keys"
remove="sleep $ttl; grep -vF -- \"$marker\" \"$file\" > \"$file.ssm-ssh\" || true; cat \"$file.ssm-ssh\" > \"$file\"; rm -f \"$file.ssm-ssh\""
if command -v systemd-run >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && [ -z "${SSM_SSH_SANDBOX_HOME:-}" ]; then
  # systemd-run exists but cannot schedule where systemd does not run (containers, a real sandbox
  # instance): the detached sleep then removes the key instead
  if ! systemd-run --quiet --on-active="${ttl}s" /bin/sh -c "grep -vF -- '$marker' '$file' > '$file.ssm-ssh' || true; cat '$file.ssm-ssh' > '$file'; rm -f '$file.ssm-ssh'" 2>/dev/null; then
    nohup /bin/sh -c "$remove" >/dev/null 2>&1 &
  fi
else
  nohup /bin/sh -c "$remove" >/dev/null 2>&1 &
fi
# The host's public keys, so the client can pin them before the first connection
etc="${SSM_SSH_SANDBOX_SSH_ETC:-/etc/ssh}"
for f in "$etc"/ssh_host_*_key.pub; do
  [ -r "$f" ] && printf 'HOSTKEY %s\n' "$(cut -d' ' -f1,2 "$f")"
done
echo "ssm-ssh: key added for $user until $(date -u -d "@$(( $(date +%s) + ttl ))" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo "+${ttl}s")"
