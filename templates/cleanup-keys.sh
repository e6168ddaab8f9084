# ssm-ssh push-key --cleanup: remove ssm-ssh's temporary key lines whose expiry-time has passed,
# from every user's authorized_keys on this host. Lines without the ssm-ssh marker are never touched.
set -eu
now=$(date -u +%Y%m%d%H%M%S)
if [ -n "${SSM_SSH_SANDBOX_HOME:-}" ]; then
  homes="$SSM_SSH_SANDBOX_HOME"
else
  homes=$(getent passwd | cut -d: -f6 | sort -u)
fi
removed=0
for home in $homes; do
  file="$home/.ssh/authorized_keys"
  [ -f "$file" ] || continue
  before=$(wc -l < "$file")
  awk -v now="$now" '!(index($0, "ssm-ssh-temp-") && match($0, /expiry-time="[0-9]+"/) && substr($0, RSTART + 13, 14) < now)' "$file" > "$file.ssm-ssh"
  cat "$file.ssm-ssh" > "$file"
  rm -f "$file.ssm-ssh"
  after=$(wc -l < "$file")
  removed=$((removed + before - after))
done
echo "REMOVED $removed"
