# ssm-ssh run --recipe cloudwatch-agent, run as root by Run Command (AWS-RunShellScript): point the
# CloudWatch agent at the credentials the SSM agent rotates on a hybrid node, so no long-lived key
# is copied onto the Pi.
#
# The SSM agent of a registered (mi-) node writes its role's temporary credentials, renewed about
# every 30 minutes, into root's shared credentials file, under the profile its config names:
# Profile.ShareCreds (default true) and Profile.ShareProfile (default "", which its credential store
# writes as "default") in /etc/amazon/ssm/amazon-ssm-agent.json; the file is $HOME/.aws/credentials
# of the agent, root. The CloudWatch agent reads [credentials] shared_credential_profile and
# shared_credential_file from common-config.toml. This script sets exactly those two keys — other
# sections, keys and comments stay as they are — and prints one line: changed, unchanged or FAILED.
#
# Every path is treated as hostile: each directory up to the file must be a real directory (not a
# link) owned by root and writable by nobody else; a link at the file itself is refused, never
# followed; the new text goes to a mktemp file in the same directory, root-owned 0644, and is renamed
# over the old one (rename replaces a link rather than writing through it). A second run changes no
# byte. SSM_SSH_RECIPE_ROOT (unset on hosts) roots every path it touches, for the tests; a simulated
# host of the sandbox (SSM_SSH_SANDBOX_HOME set) is a directory of the machine running the sandbox,
# so its / is a directory in its home, never the machine's own /opt.
set -eu
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
umask 022
root=${SSM_SSH_RECIPE_ROOT:-}
if [ -z "$root" ] && [ -n "${SSM_SSH_SANDBOX_HOME:-}" ]; then
  root=$SSM_SSH_SANDBOX_HOME/sysroot
  mkdir -p -m 755 -- "$root"
fi
agent_config=/etc/amazon/ssm/amazon-ssm-agent.json
credentials_file=/root/.aws/credentials
cw_home=/opt/aws/amazon-cloudwatch-agent
target=$cw_home/etc/common-config.toml
ctl=$cw_home/bin/amazon-cloudwatch-agent-ctl

fail() { printf 'cloudwatch-agent: FAILED %s\n' "$*"; exit 1; }

# -- which profile the SSM agent shares its credentials under -------------------------------------
profile=default
if [ -f "$root$agent_config" ] && [ ! -L "$root$agent_config" ]; then
  # the Profile object only, flattened: {"ShareCreds": true, "ShareProfile": ""}
  section=$(tr -d '\n\r' <"$root$agent_config" | sed -n 's/.*"Profile"[[:space:]]*:[[:space:]]*{\([^}]*\)}.*/\1/p')
  share_creds=$(printf '%s' "$section" | sed -n 's/.*"ShareCreds"[[:space:]]*:[[:space:]]*\([a-z]*\).*/\1/p')
  share_profile=$(printf '%s' "$section" | sed -n 's/.*"ShareProfile"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
  [ "$share_creds" != false ] ||
    fail "the SSM agent does not share its credentials (Profile.ShareCreds is false in $agent_config)"
  [ -z "$share_profile" ] || profile=$share_profile
fi
# the profile goes into a TOML string: only the characters AWS profile names use
case $profile in
  *[!A-Za-z0-9_.@+-]* | '') fail "Profile.ShareProfile in $agent_config is not a plain profile name" ;;
esac
[ "${#profile}" -le 64 ] || fail "Profile.ShareProfile in $agent_config is longer than 64 characters"

# -- a root-owned path we may write in ------------------------------------------------------------
# safe_dir DIR: DIR (created 0755 if missing) and every directory above it are real directories,
# owned by root, not writable by group or others
safe_dir() {
  path=
  rest=${1#/}
  check=$root
  [ -z "$root" ] || check_root "$root"
  while [ -n "$rest" ]; do
    part=${rest%%/*}
    [ "$part" = "$rest" ] && rest= || rest=${rest#*/}
    path=$path/$part
    check=$root$path
    if [ ! -e "$check" ] && [ ! -L "$check" ]; then
      mkdir -m 755 -- "$check" || fail "cannot create $path"
    fi
    check_root "$check" "$path"
  done
}
check_root() {
  shown=${2:-$1}
  [ ! -L "$1" ] || fail "$shown is a symbolic link; not following it"
  [ -d "$1" ] || fail "$shown is not a directory"
  [ "$(stat -c %u -- "$1")" = 0 ] || fail "$shown is not owned by root"
  case $(stat -c %A -- "$1") in
    ?????w???? | ????????w?) fail "$shown is writable by others than root" ;;
  esac
}

dir=${target%/*}
safe_dir "$dir"
file=$root$target
[ ! -L "$file" ] || fail "$target is a symbolic link; not following it"
[ ! -e "$file" ] || [ -f "$file" ] || fail "$target is not a regular file"

# -- the edit ---------------------------------------------------------------------------------------
tmp=$(mktemp "$root$dir/.common-config.toml.ssm-ssh.XXXXXXXXXX") || fail "cannot write in $dir"
trap 'rm -f -- "$tmp"' EXIT
# in [credentials] (the first table of that name): replace the two keys' lines in place, add the
# missing ones at the end of the table; no such table: append one. Comments ("# [credentials]" in the file the
# agent ships) are text, not tables.
{ if [ -f "$file" ]; then cat -- "$file"; fi; } | awk -v profile="$profile" -v credfile="$credentials_file" '
  function header(line) { return line ~ /^[ \t]*\[[^]]*\][ \t]*(#.*)?$/ }
  function emit_missing() {
    if (!have_profile) print "  shared_credential_profile = \"" profile "\""
    if (!have_file) print "  shared_credential_file = \"" credfile "\""
    have_profile = have_file = 1
  }
  {
    if (header($0)) {
      if (in_creds) emit_missing()
      in_creds = 0
      if ($0 ~ /^[ \t]*\[[ \t]*credentials[ \t]*\][ \t]*(#.*)?$/ && !seen) {
        seen = in_creds = 1
        print
        next
      }
    }
    if (in_creds && $0 ~ /^[ \t]*shared_credential_profile[ \t]*=/) {
      if (!have_profile) { match($0, /^[ \t]*/); print substr($0, 1, RLENGTH) "shared_credential_profile = \"" profile "\"" }
      have_profile = 1
      next
    }
    if (in_creds && $0 ~ /^[ \t]*shared_credential_file[ \t]*=/) {
      if (!have_file) { match($0, /^[ \t]*/); print substr($0, 1, RLENGTH) "shared_credential_file = \"" credfile "\"" }
      have_file = 1
      next
    }
    lines[++count] = $0
    print
  }
  END {
    if (in_creds) emit_missing()
    else if (!seen) {
      if (count > 0 && lines[count] != "") print ""
      print "[credentials]"
      emit_missing()
    }
  }
' >"$tmp" || fail "cannot edit $target"

if [ -f "$file" ] && cmp -s -- "$tmp" "$file"; then
  printf 'cloudwatch-agent: unchanged (profile %s in %s)\n' "$profile" "$credentials_file"
  exit 0
fi
chown 0:0 -- "$tmp" && chmod 644 -- "$tmp" || fail "cannot set the owner and mode of the new $target"
mv -f -- "$tmp" "$file" || fail "cannot replace $target"
trap - EXIT

# -- restart the CloudWatch agent, when there is one that runs --------------------------------------
restarted="no CloudWatch agent installed"
if [ -x "$root$ctl" ] && [ ! -L "$root$ctl" ]; then
  if "$root$ctl" -a status 2>/dev/null | grep -q '"status"[[:space:]]*:[[:space:]]*"running"'; then
    if "$root$ctl" -a stop >/dev/null 2>&1 && "$root$ctl" -a start >/dev/null 2>&1; then
      restarted="CloudWatch agent restarted"
    else
      fail "wrote $target, but the CloudWatch agent did not restart (amazon-cloudwatch-agent-ctl -a start)"
    fi
  else
    restarted="CloudWatch agent not running; it reads the file when it starts"
  fi
fi
printf 'cloudwatch-agent: changed (profile %s in %s; %s)\n' "$profile" "$credentials_file" "$restarted"
