# ssm-ssh doctor, run as root by Run Command (AWS-RunShellScript) on every target at once: what the
# host says about its sshd, ssm-user and sudo rules, the credentials its agent would use, the agent's
# endpoints and the host keys. Facts only, one a line; every value that comes from the host (names,
# paths, rules) is base64, for the host may hold anything. It never prints a secret: of the agent's
# environment only the names of its AWS variables, of a credentials file only whether the profile
# holds a key. Files are read, never written; symbolic links in sudoers.d are not followed.
# Output stays well under the 2,500 characters Run Command keeps of it.
set -u
port=__PORT__
b64() { printf '%s' "$1" | base64 | tr -d '\n'; }
echo "DOCTOR 1"
echo "HOSTNAME $(b64 "$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null)")"
for a in $(ip -4 -o addr show 2>/dev/null | awk '{print $4}' | cut -d/ -f1); do
  case $a in *[!0-9.]* | '') ;; *) echo "ADDR $a" ;; esac
done

# sshd on the port sessions go to
listeners=$(ss -Hltnp "sport = :$port" 2>/dev/null)
if [ -z "$listeners" ] && ! command -v ss >/dev/null 2>&1; then
  echo "LISTEN $port unknown"
elif [ -z "$listeners" ]; then
  echo "LISTEN $port no"
elif printf '%s' "$listeners" | grep -q '"sshd'; then
  echo "LISTEN $port sshd"
else
  echo "LISTEN $port other"
fi

# ssm-user (the agent makes it on the first session) and every NOPASSWD rule sudo reads
if id ssm-user >/dev/null 2>&1; then
  echo "SSMUSER yes $(b64 "$(id -nG ssm-user 2>/dev/null)")"
else
  echo "SSMUSER no"
fi
for f in /etc/sudoers /etc/sudoers.d/*; do
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  grep -v '^[[:space:]]*#' -- "$f" 2>/dev/null | grep NOPASSWD | head -n 5 | while IFS= read -r line; do
    echo "NOPASSWD $(b64 "${f##*/}") $(b64 "$line")"
  done
done

# The agent's credential chain (seed 001): environment, then its shared credentials file
agent=
for d in /proc/[0-9]*; do
  case $(readlink "$d/exe" 2>/dev/null) in
    */amazon-ssm-agent | */amazon-ssm-agent' (deleted)') agent=${d#/proc/}; break ;;
  esac
done
home= profile= credfile=
if [ -n "$agent" ]; then
  echo "AGENT yes"
  environ() { tr '\0' '\n' <"/proc/$agent/environ" 2>/dev/null; }
  for name in $(environ | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p'); do
    case $name in
      AWS_ACCESS_KEY_ID | AWS_SECRET_ACCESS_KEY | AWS_SESSION_TOKEN | AWS_PROFILE | \
        AWS_SHARED_CREDENTIALS_FILE | AWS_CONFIG_FILE) echo "AGENTENV $name" ;;
    esac
  done
  home=$(environ | sed -n 's/^HOME=//p' | head -n 1)
  profile=$(environ | sed -n 's/^AWS_PROFILE=//p' | head -n 1)
  credfile=$(environ | sed -n 's/^AWS_SHARED_CREDENTIALS_FILE=//p' | head -n 1)
else
  echo "AGENT no"
fi
home=${home:-/root}
profile=${profile:-default}
credfile=${credfile:-$home/.aws/credentials}
if [ -f "$credfile" ]; then
  keys=$(awk -v want="$profile" '
    /^[[:space:]]*\[/ { s = $0; gsub(/^[[:space:]]*\[[[:space:]]*|[[:space:]]*\][[:space:]]*$/, "", s); cur = s; next }
    cur == want && /^[[:space:]]*aws_access_key_id[[:space:]]*=[[:space:]]*[^[:space:]]/ { found = 1 }
    END { print (found ? "keys" : "nokeys") }' "$credfile" 2>/dev/null)
  echo "CREDFILE $(b64 "$credfile") $(b64 "$profile") ${keys:-nokeys}"
else
  echo "CREDFILE $(b64 "$credfile") $(b64 "$profile") absent"
fi

# Endpoints the agent's config overrides (Ssm, Mgs, Mds, S3, Kms …)
conf=/etc/amazon/ssm/amazon-ssm-agent.json
if [ -f "$conf" ]; then
  awk '{
    if (match($0, /"[A-Za-z0-9]+"[[:space:]]*:[[:space:]]*\{/)) { s = substr($0, RSTART + 1); sub(/".*/, "", s); sec = s }
    if (match($0, /"Endpoint"[[:space:]]*:[[:space:]]*"[^"]*"/)) {
      v = substr($0, RSTART, RLENGTH); sub(/^"Endpoint"[[:space:]]*:[[:space:]]*"/, "", v); sub(/"$/, "", v)
      if (v != "") print sec "\t" v
    }
  }' "$conf" 2>/dev/null | head -n 10 | while IFS="$(printf '\t')" read -r sec value; do
    echo "ENDPOINT $(b64 "$sec") $(b64 "$value")"
  done
fi

# Host keys, as fingerprints
for k in /etc/ssh/ssh_host_*_key.pub; do
  [ -f "$k" ] || continue
  type=$(awk '{print $1; exit}' "$k")
  fp=$(ssh-keygen -lf "$k" 2>/dev/null | awk '{print $2}')
  case $type in *[!A-Za-z0-9@.-]* | '') continue ;; esac
  case $fp in SHA256:*) echo "HOSTKEY $type $fp" ;; esac
done
echo "END"
