# ssm-ssh enroll / reactivate, run as root on a Pi (over plain ssh with sudo, or by Run Command):
# install amazon-ssm-agent if it is missing, register the Pi with a hybrid activation, start the agent,
# and print one line starting SSM_SSH_ENROLL that says what happened:
#   SSM_SSH_ENROLL registered id=mi-… previous=mi-…|- host=NAME
#   SSM_SSH_ENROLL already id=mi-… host=NAME        (enroll: registered before; nothing changed)
#   SSM_SSH_ENROLL elsewhere host=NAME              (reactivate: not the machine asked for; exit 3)
#   SSM_SSH_ENROLL failed WHY                       (exit 1)
#
# Modes: enroll (stop the agent, clear the registration it has, a copied one included, register,
# start) and reactivate (register while the agent runs, since it runs this very script, then restart
# it detached, after this reply is sent). FORCE=yes re-registers an enrolled Pi.
# The values below arrive single-quoted by ssm-ssh (domain/enroll-script.ts); none is interpolated
# into another command line unquoted. The activation code goes to the agent as its -code argument,
# as AWS documents it.
set -eu
ACTIVATION_ID=__ACTIVATION_ID__
ACTIVATION_CODE=__ACTIVATION_CODE__
REGION=__REGION__
PACKAGE_URL=__PACKAGE_URL__
PACKAGE_SHA256=__PACKAGE_SHA256__
MODE=__MODE__
FORCE=__FORCE__
EXPECT_HOST=__EXPECT_HOST__

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 077
data=/var/lib/amazon/ssm
host=$(hostname)
say() { printf 'SSM_SSH_ENROLL %s\n' "$*"; }
fail() { say "failed $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "not root (run it with sudo)"
if [ -n "$EXPECT_HOST" ] && [ "$host" != "$EXPECT_HOST" ]; then
  say "elsewhere host=$host"
  exit 3
fi

# The id the agent's vault holds (what `amazon-ssm-agent -register` wrote), or nothing.
registered_id() {
  sed -n 's/.*"instanceID":"\(mi-[0-9a-f]\{17\}\)".*/\1/p' "$data/Vault/Store/RegistrationKey" 2>/dev/null |
    head -n 1
}

# start | stop | restart the agent: systemd's unit where systemd runs, else its init script.
agent() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl "$1" amazon-ssm-agent
  elif [ -x /etc/init.d/amazon-ssm-agent ]; then
    /etc/init.d/amazon-ssm-agent "$1"
  else
    fail "cannot $1 the agent: no systemd and no /etc/init.d/amazon-ssm-agent"
  fi
}

install_agent() {
  command -v amazon-ssm-agent >/dev/null 2>&1 && return 0
  [ -n "$PACKAGE_URL" ] || fail "amazon-ssm-agent is not installed and no --package-url was given"
  # AWS's Debian packages: debian_arm64, debian_arm (armhf), debian_amd64
  case $(uname -m) in
  aarch64 | arm64) arch=arm64 ;;
  armv6l | armv7l | armhf) arch=arm ;;
  x86_64 | amd64) arch=amd64 ;;
  *) fail "no agent package for this machine ($(uname -m))" ;;
  esac
  url=$(printf '%s' "$PACKAGE_URL" | sed "s/{arch}/$arch/g")
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  pkg=$tmp/amazon-ssm-agent.deb
  case $url in
  file://*) cp "${url#file://}" "$pkg" || fail "cannot read $url" ;;
  *)
    if command -v curl >/dev/null 2>&1; then
      curl -fsSL --proto '=https,http' -o "$pkg" "$url" || fail "cannot download $url"
    elif command -v wget >/dev/null 2>&1; then
      wget -q -O "$pkg" "$url" || fail "cannot download $url"
    else
      fail "neither curl nor wget to download $url"
    fi
    ;;
  esac
  if [ -n "$PACKAGE_SHA256" ]; then
    got=$(sha256sum "$pkg" | cut -d ' ' -f 1)
    [ "$got" = "$PACKAGE_SHA256" ] || fail "the package's sha256 is $got, not $PACKAGE_SHA256"
  fi
  dpkg -i "$pkg" >/dev/null 2>&1 || fail "dpkg -i could not install the package from $url"
  command -v amazon-ssm-agent >/dev/null 2>&1 || fail "the package installed no amazon-ssm-agent"
}

register() {
  [ -n "$ACTIVATION_ID" ] && [ -n "$ACTIVATION_CODE" ] && [ -n "$REGION" ] || fail "no activation given"
  # the agent logs why it failed to its console when its seelog.xml has one, always to errors.log
  errors=/var/log/amazon/ssm/errors.log
  seen=$(wc -l <"$errors" 2>/dev/null || echo 0)
  if ! out=$(amazon-ssm-agent -register -code "$ACTIVATION_CODE" -id "$ACTIVATION_ID" \
    -region "$REGION" -y 2>&1); then
    why=$(printf '%s\n' "$out" | sed -n 's/.*Registration failed due to //p' | tail -n 1)
    [ -n "$why" ] || [ -L "$errors" ] ||
      why=$(tail -n "+$((seen + 1))" "$errors" 2>/dev/null | sed -n 's/.*Registration failed due to //p' | tail -n 1)
    fail "the agent could not register: ${why:-see the agent's log}"
  fi
  new=$(registered_id)
  [ -n "$new" ] || fail "the agent registered, but its vault names no instance id"
}

install_agent
current=$(registered_id)
if [ "$MODE" = enroll ] && [ -n "$current" ] && [ "$FORCE" != yes ]; then
  say "already id=$current host=$host"
  exit 0
fi

if [ "$MODE" = reactivate ]; then
  # The agent runs this script: register with it running, restart it once this reply is sent.
  register
  restart='sleep 3; if [ -d /run/systemd/system ]; then systemctl restart amazon-ssm-agent; else /etc/init.d/amazon-ssm-agent restart; fi'
  if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
    # outside the agent's cgroup, which systemctl stop empties
    systemd-run --no-block --collect --quiet /bin/sh -c "$restart" || fail "systemd-run failed"
  else
    setsid /bin/sh -c "$restart" </dev/null >/dev/null 2>&1 &
  fi
  say "registered id=$new previous=${current:--} host=$host"
  exit 0
fi

agent stop >/dev/null 2>&1 || true
# A copied SD card carries another Pi's registration: clear it (vault and hardware fingerprint) and
# the credentials state it left, so nothing of the other node is used.
amazon-ssm-agent -register -clear >/dev/null 2>&1 || true
rm -f "$data/registration" "$data/runtimeconfig/identity_config.json"
register
agent start >/dev/null 2>&1 || fail "registered as $new, but the agent did not start"
say "registered id=$new previous=${current:--} host=$host"
