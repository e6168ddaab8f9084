# ssm-ssh push-key, run as root by Run Command (AWS-RunShellScript): add one temporary key line for
# one user (add), remove that key's ssm-ssh lines now (revoke), or remove every expired ssm-ssh line
# from every home on the host (cleanup).
#
# Root never opens a path inside a home: each user's ~/.ssh is changed by a shell running AS that user
# (setpriv, runuser or su, whichever the host has), which also refuses a symlinked, foreign-owned or
# non-regular ~/.ssh or authorized_keys and says why. A user who plants links to /etc/shadow or
# /root/.ssh gains nothing: the shell doing the work has only the user's own rights.
# Every change is: lock ~/.ssh (flock on the directory, whose inode outlives the file), copy the file
# to a fresh mktemp file in the same directory, filter or append there, mv it over. Parallel pushes and
# removals therefore never lose a line of anyone's.
#
# The values below arrive single-quoted by ssm-ssh (renderScript); none is interpolated into another
# command line. The work itself is the text in SSM_SSH_LIB, run by `sh -c` as root, as the user, and
# as the detached removal job (which inherit it from the environment; su and runuser keep it).
set -eu
SSM_SSH_LIB=$(cat <<'LIB'
set -eu
lib=$SSM_SSH_LIB
umask 077
me=ssm-ssh
fail() { printf 'FAILED %s\n' "$*"; exit 1; }

# --- as the user -------------------------------------------------------------------------------
# rewrite HOME ACTION ARG: one locked change of HOME/.ssh/authorized_keys.
#   add LINE       append LINE (after a newline if the file lacks its final one); refused once the
#                  line's expiry (SSM_SSH_EXPIRES, epoch) has passed, e.g. after a long wait for the lock
#   drop MARKER    remove the lines carrying MARKER (the removal job)
#   revoke KEY     remove the ssm-ssh lines of KEY ("type base64")
#   expired NOW    remove the ssm-ssh lines whose expiry (epoch in the comment) is NOW or earlier
rewrite() {
  home=$1 action=$2 arg=$3
  dir=$home/.ssh
  file=$dir/authorized_keys
  [ ! -L "$dir" ] || fail "$dir is a symbolic link"
  if [ ! -e "$dir" ]; then
    [ "$action" = add ] || { echo "REMOVED 0"; return 0; }
    mkdir -m 700 -- "$dir" || fail "cannot create $dir"
  fi
  [ -d "$dir" ] || fail "$dir is not a directory"
  # removals: a home whose file has no ssm-ssh line is left alone, whoever owns it (a service
  # account's root-owned ~/.ssh is not a finding); links and non-files are reported all the same
  if [ "$action" != add ]; then
    [ ! -L "$file" ] || fail "$file is a symbolic link"
    [ -e "$file" ] || { echo "REMOVED 0"; return 0; }
    [ -f "$file" ] || fail "$file is not a regular file"
    grep -q ssm-ssh-temp- "$file" 2>/dev/null || { echo "REMOVED 0"; return 0; }
  fi
  [ -O "$dir" ] || fail "$dir is not owned by $(id -un)"
  exec 9<"$dir"
  flock -w 20 9 || fail "$file stayed locked for 20 s"
  [ ! -L "$file" ] || fail "$file is a symbolic link"
  if [ -e "$file" ]; then
    [ -f "$file" ] || fail "$file is not a regular file"
    [ -O "$file" ] || fail "$file is not owned by $(id -un)"
  elif [ "$action" != add ]; then
    echo "REMOVED 0"
    return 0
  fi
  tmp=$(mktemp "$dir/.authorized_keys.ssm-ssh.XXXXXXXXXX") || fail "cannot write in $dir"
  trap 'rm -f -- "$tmp"' EXIT
  case $action in
    add)
      [ "$(date +%s)" -lt "$SSM_SSH_EXPIRES" ] || fail "the key expired before $file was free"
      if [ -e "$file" ]; then cat -- "$file" >"$tmp"; fi
      if [ -s "$tmp" ] && [ -n "$(tail -c 1 -- "$tmp")" ]; then echo >>"$tmp"; fi
      printf '%s\n' "$arg" >>"$tmp"
      ;;
    drop | revoke | expired)
      # lines from before the expiry comment carry only expiry-time, which was written in UTC
      awk -v action="$action" -v arg="$arg" -v utc="$(date -u +%Y%m%d%H%M%S)" '
        function ours() { return $0 !~ /^[ \t]*#/ && $0 ~ /ssm-ssh-temp-[0-9a-f]/ }
        function expired(  at) {
          if (match($0, /ssm-ssh-temp-[0-9a-f]+-expires-[0-9]+/)) {
            at = substr($0, RSTART, RLENGTH); sub(/.*-expires-/, "", at)
            return at + 0 <= arg + 0
          }
          return match($0, /expiry-time="[0-9]+"/) && substr($0, RSTART + 13, 14) < utc
        }
        !(action == "drop" && ours() && index($0, arg) > 0) &&
        !(action == "revoke" && ours() && index($0, arg " ssm-ssh-temp-") > 0) &&
        !(action == "expired" && ours() && expired())
      ' "$file" >"$tmp"
      echo "REMOVED $(($(awk 'END { print NR }' "$file") - $(awk 'END { print NR }' "$tmp")))"
      ;;
  esac
  if [ -e "$file" ] && cmp -s -- "$tmp" "$file"; then return 0; fi
  mv -f -- "$tmp" "$file"
}

# --- as root -----------------------------------------------------------------------------------
# as USER UID GID ...: run this lib as the user (not at all when it is us); 30 s at most, so a FIFO
# planted as authorized_keys cannot hold the command until its executionTimeout.
as() {
  name=$1 id=$2 group=$3
  shift 3
  if [ "$(id -u)" = "$id" ]; then
    timeout 30 /bin/sh -c "$lib" "$me" "$@"
  elif [ "$(id -u)" != 0 ]; then
    fail "not root: cannot act as $name"
  elif command -v setpriv >/dev/null 2>&1; then
    timeout 30 setpriv --reuid="$id" --regid="$group" --clear-groups -- /bin/sh -c "$lib" "$me" "$@"
  elif command -v runuser >/dev/null 2>&1; then
    timeout 30 runuser -u "$name" -- /bin/sh -c "$lib" "$me" "$@"
  else
    timeout 30 su -s /bin/sh -c "$lib" "$name" -- "$me" "$@"
  fi
}

# user NAME: sets uid, gid and home (the sandbox's simulated hosts are one directory, ours)
user() {
  if [ -n "${SSM_SSH_SANDBOX_HOME:-}" ]; then
    case " ${SSM_SSH_SANDBOX_USERS:-} " in *" $1 "*) ;; *) fail "no user $1 on this host" ;; esac
    uid=$(id -u) gid=$(id -g) home=$SSM_SSH_SANDBOX_HOME
    return 0
  fi
  entry=$(getent passwd "$1") || fail "no user $1 on this host"
  uid=$(echo "$entry" | cut -d: -f3) gid=$(echo "$entry" | cut -d: -f4) home=$(echo "$entry" | cut -d: -f6)
  [ -n "$home" ] || fail "user $1 has no home directory"
}

# sshd < 7.7 rejects a line with expiry-time (unknown option): there the line goes without it and
# the removal job and the expiry comment (for --cleanup) end it.
old_sshd() {
  [ -z "${SSM_SSH_SANDBOX_HOME:-}" ] || return 1
  ver=$({ sshd -V 2>&1 || true; } | sed -n 's/.*OpenSSH_\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' | head -n 1)
  [ -n "$ver" ] || return 1
  set -- $ver
  [ "$1" -lt 7 ] || { [ "$1" -eq 7 ] && [ "$2" -lt 7 ]; }
}

# Whether EC2 Instance Connect can work here: sshd asks its AuthorizedKeysCommand
# (eic_run_authorized_keys), configured in sshd_config(.d) or, on Ubuntu, on sshd's command line.
instance_connect() {
  etc=${SSM_SSH_SANDBOX_SSH_ETC:-/etc/ssh}
  if grep -qs eic_run_authorized_keys "$etc/sshd_config" "$etc"/sshd_config.d/*.conf; then echo yes; return; fi
  if [ -z "${SSM_SSH_SANDBOX_SSH_ETC:-}" ]; then
    for pid in $(pgrep -x sshd 2>/dev/null); do
      if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q eic_run_authorized_keys; then echo yes; return; fi
    done
  fi
  echo no
}

host_keys() {
  for f in "${SSM_SSH_SANDBOX_SSH_ETC:-/etc/ssh}"/ssh_host_*_key.pub; do
    if [ -r "$f" ]; then printf 'HOSTKEY %s\n' "$(cut -d' ' -f1,2 "$f")"; fi
  done
}

add() {
  name=$1 key=$2 marker=$3 ttl=$4
  user "$name"
  SSM_SSH_EXPIRES=$(($(date +%s) + ttl))
  export SSM_SSH_EXPIRES
  # sshd reads expiry-time in the host's local time (sshd(8)): write it in that time, here
  stamp=$(date -d "@$SSM_SSH_EXPIRES" +%Y%m%d%H%M%S) || fail "date cannot convert @$SSM_SSH_EXPIRES"
  comment="$marker-expires-$SSM_SSH_EXPIRES"
  line="expiry-time=\"$stamp\" $key $comment"
  if old_sshd; then line="$key $comment"; fi
  # The removal first: a key whose removal could not be scheduled is never added. A detached
  # process in its own session: the agent waits for the script's output pipes only and kills its
  # process group on timeout or cancel; systemd stops the agent with KillMode=process, so an agent
  # restart leaves it alone. After a reboot the expiry comment lets --cleanup find the line.
  # The job says its PID on fd 3 once it runs, then closes it: `kill -0` would pass a job that
  # had already failed (a zombie), this cannot.
  job=$(setsid /bin/sh -c "$lib" ssm-ssh-removal removal "$name" "$marker" "$ttl" 3>&1 </dev/null >/dev/null 2>&1 &)
  [ -n "$job" ] || fail "could not start the removal job (setsid); the key was not added"
  as "$name" "$uid" "$gid" rewrite "$home" add "$line" || {
    status=$?
    kill "$job" 2>/dev/null
    fail_as "$status"
  }
  echo "EIC $(instance_connect)"
  host_keys
  echo "ADDED $name $SSM_SSH_EXPIRES $stamp $(date +%Z)"
}

# the user's shell said FAILED itself; a timeout did not
fail_as() {
  [ "$1" != 124 ] || fail "timed out changing $home/.ssh (a FIFO in place of a file?)"
  exit 1
}

removal() {
  name=$1 marker=$2 ttl=$3
  echo "$$" >&3
  exec 3>&-
  sleep "$ttl"
  user "$name"
  as "$name" "$uid" "$gid" rewrite "$home" drop "$marker"
}

revoke() {
  user "$1"
  as "$1" "$uid" "$gid" rewrite "$home" revoke "$2" || fail_as "$?"
}

# Every home of the host; one that refuses (a planted link) is reported, the others still cleaned.
cleanup() {
  now=$(date +%s) removed=0 failed=0
  if [ -n "${SSM_SSH_SANDBOX_HOME:-}" ]; then
    entries="${SSM_SSH_SANDBOX_USERS%% *}:x:$(id -u):$(id -g)::$SSM_SSH_SANDBOX_HOME:"
  else
    entries=$(getent passwd)
  fi
  while IFS=: read -r name _ id group _ home _; do
    [ -n "$home" ] || continue
    [ -e "$home/.ssh/authorized_keys" ] || [ -L "$home/.ssh/authorized_keys" ] || [ -L "$home/.ssh" ] || continue
    if out=$(as "$name" "$id" "$group" rewrite "$home" expired "$now" </dev/null); then
      n=$(echo "$out" | sed -n 's/^REMOVED //p')
      removed=$((removed + ${n:-0}))
    else
      failed=$((failed + 1))
      reason=$(echo "$out" | sed -n 's/^FAILED //p' | head -n 1)
      echo "FAILED $name: ${reason:-timed out}"
    fi
  done <<EOF
$entries
EOF
  echo "REMOVED $removed"
  [ "$failed" = 0 ]
}

action=$1
shift
cd /
case $action in
  add | revoke | cleanup | removal | rewrite) "$action" "$@" ;;
  *) fail "unknown action $action" ;;
esac
LIB
)
export SSM_SSH_LIB
/bin/sh -c "$SSM_SSH_LIB" ssm-ssh __ACTION__ __USER__ __KEY__ __MARKER__ __TTL__
