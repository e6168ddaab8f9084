# ssm-ssh harden, run as root by Run Command (AWS-RunShellScript): take away the sudo rights that make
# Session Manager access root access, in a way the agent does not undo.
#
# amazon-ssm-agent (agent/session/utility/utility_unix.go) creates ssm-user on the first shell
# session and, only when it had to create the user, writes /etc/sudoers.d/ssm-agent-users
# ("ssm-user ALL=(ALL) NOPASSWD:ALL") unless that file already exists (os.Stat). So the file stays,
# its rules turned into comments, and is created as a comment where ssm-user does not exist yet.
# With pi=yes, /etc/sudoers.d/010_pi-nopasswd keeps its rules with PASSWD: for NOPASSWD: (what the
# Raspberry Pi documentation says to do): the owner keeps sudo, with their password; refused while a
# user it names has no password, who would lose sudo altogether.
#
# Actions: apply, dry-run (prints what apply would write, writes nothing), undo (restores the files
# from the backup the first apply kept in $backups, removes the files it created).
# Safety: every new file is checked with `visudo -c -f` before anything is replaced and the whole set
# with `visudo -c` after (on failure everything this run replaced is put back); files are written to a
# temporary file in the same directory (its name has a dot, which sudo's includedir skips), made 0440
# root:root and renamed over the old one; no symbolic link is followed: a link where a sudoers file,
# the backup directory or a backup should be is refused and reported; backups are made with mktemp +
# ln (neither follows a link) in a directory only root may enter.
#
# Output, one line each: SSMUSER yes|no, FILE NAME STATE BEFORE AFTER (STATE: unchanged, change,
# create, restore, remove; BEFORE/AFTER the content in base64, - for none), WARN TEXT, FAILED REASON,
# and DONE last when it succeeded.
# The two values below arrive single-quoted by ssm-ssh (renderHardenScript).
# -f: no word here is a pattern (a user name read from a sudoers file must not expand to file names)
set -euf
action=__ACTION__
pi=__PI_NOPASSWD__
umask 077
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
sudoers=/etc/sudoers.d
state=/var/lib/ssm-ssh
backups=$state/harden
header1='# User rules for ssm-user: none. ssm-ssh harden made them comments; keep this file, since'
header2='# amazon-ssm-agent writes "ssm-user ALL=(ALL) NOPASSWD:ALL" here only when it is missing.'
temps=
fail() {
  printf 'FAILED %s\n' "$(printf '%s' "$*" | tr '\n' ' ')"
  exit 1
}
cleanup() {
  for t in $temps; do rm -f -- "$t"; done
}
trap cleanup EXIT

[ -z "${SSM_SSH_SANDBOX_HOME:-}" ] ||
  fail "a simulated sandbox host has no sudoers of its own: harden runs on real instances (sandbox --real N)"
[ "$(id -u)" = 0 ] || fail "not run as root"
command -v visudo >/dev/null 2>&1 || fail "no visudo on this host: is sudo installed?"

# owned_by_root PATH [FIND-TEST…]: PATH is root's (and passes the tests); never follows a link
owned_by_root() {
  p=$1
  shift
  [ -n "$(find "$p" -maxdepth 0 -user 0 "$@" 2>/dev/null)" ]
}

# A directory we write in: a real directory of root's that no one else may write
safe_dir() {
  [ ! -L "$1" ] || fail "$1 is a symbolic link: not following it"
  [ -d "$1" ] || fail "$1 is not a directory"
  owned_by_root "$1" ! -perm /022 || fail "$1 is not root's alone (owner or write permission)"
}

# A sudoers file: absent, or a regular file of root's
safe_file() {
  [ ! -L "$1" ] || fail "$1 is a symbolic link: not following it"
  [ -e "$1" ] || return 0
  [ -f "$1" ] || fail "$1 is not a regular file"
  owned_by_root "$1" || fail "$1 is not owned by root"
}

# The backup directory, root's alone (created unless it is only looked at)
backup_dir() {
  for d in "$state" "$backups"; do
    if [ "$1" = create ] && [ ! -e "$d" ] && [ ! -L "$d" ]; then
      mkdir -m 700 -- "$d" || fail "cannot create $d"
    fi
    [ -e "$d" ] || [ -L "$d" ] || return 1
    safe_dir "$d"
  done
  owned_by_root "$backups" ! -perm /077 || fail "$backups may be read by others than root"
}

# A backup: absent, or a regular file of root's (a planted link is never read)
safe_backup() {
  safe_file "$1"
  [ -e "$1" ]
}

b64() { base64 | tr -d '\n'; }

# content PATH: the file in base64, - when absent
content() {
  if [ -e "$1" ]; then b64 <"$1"; else printf -; fi
}

# ssm-agent-users as hardened: our header, then every line that is not a comment made one ('#1002'
# is a user by uid and '#include' a directive, not comments). Run again, it gives the same bytes.
harden_ssm() {
  awk -v h1="$header1" -v h2="$header2" '
    BEGIN { print h1; print h2 }
    $0 == h1 || $0 == h2 { next }
    /^[ \t]*$/ { print; next }
    /^[ \t]*#/ && !/^[ \t]*#[0-9]/ && !/^[ \t]*#include/ { print; next }
    { print "# " $0 }'
}

# 010_pi-nopasswd as hardened: NOPASSWD: becomes PASSWD: in every rule
harden_pi() {
  awk '/^[ \t]*#/ && !/^[ \t]*#[0-9]/ { print; next } { gsub(/NOPASSWD[ \t]*:/, "PASSWD:"); print }'
}

# Users the pi file lets sudo without a password must have one, or they lose sudo altogether
check_passwords() {
  for u in $(awk '!/^[ \t]*#/ && /NOPASSWD/ { print $1 }' "$1"); do
    case $u in %* | +* | *[!a-z0-9_.-]*) continue ;; esac # a group, netgroup or alias
    hash=$(getent shadow "$u" | cut -d: -f2)
    case $hash in
      '' | '!'* | '*'*) fail "$u has no password (passwd $u first): without NOPASSWD $u could not sudo at all" ;;
    esac
  done
}

# new_content NAME: what NAME should hold, on stdout
new_content() {
  f=$sudoers/$1
  case $1 in
    ssm-agent-users) if [ -e "$f" ]; then harden_ssm <"$f"; else harden_ssm </dev/null; fi ;;
    010_pi-nopasswd) harden_pi <"$f" ;;
  esac
}

# the files this run looks at: ssm-agent-users always, the pi file when asked and present
names() {
  echo ssm-agent-users
  if [ "$pi" = yes ] && { [ -e "$sudoers/010_pi-nopasswd" ] || [ -L "$sudoers/010_pi-nopasswd" ]; }; then
    echo 010_pi-nopasswd
  fi
}

# install SOURCE NAME: SOURCE (a temporary file in $sudoers) becomes NAME, atomically
install_file() {
  mv -fT -- "$1" "$sudoers/$2" || fail "cannot rename $1 to $sudoers/$2"
}

# keep_backup FILE NAME: FILE becomes the backup NAME unless a backup of that file is there already
# (--undo goes back to before ssm-ssh changed anything); ln neither follows nor replaces a link
made_backups=
keep_backup() {
  base=${2%.absent}
  [ ! -e "$backups/$base" ] && [ ! -e "$backups/$base.absent" ] || return 0
  ln -- "$1" "$backups/$2" || fail "cannot keep a backup of $sudoers/$base in $backups"
  made_backups="$made_backups $backups/$2"
}

# keep_current NAME: a copy of the file as it is now (or - when absent), for this run's rollback
keep_current() {
  if [ -e "$sudoers/$1" ]; then
    prev=$(mktemp "$sudoers/.ssm-ssh-harden.XXXXXXXXXX") || fail "cannot write in $sudoers"
    temps="$temps $prev"
    cp -Pp -- "$sudoers/$1" "$prev" || fail "cannot copy $sudoers/$1"
  else
    prev=-
  fi
  undo_list="$undo_list $1=$prev"
}

# put back what this run replaced ($undo_list) and drop the backups it made
rollback() {
  for entry in $undo_list; do
    name=${entry%%=*} prev=${entry#*=}
    if [ "$prev" = - ]; then rm -f -- "${sudoers:?}/$name"; else install_file "$prev" "$name"; fi
  done
  for b in $made_backups; do rm -f -- "$b"; done
}

# the whole set after a change; on failure, everything rolled back
check_all() {
  if out=$(visudo -c 2>&1); then return 0; fi
  rollback
  fail "visudo -c rejected the result, so the old files were put back: $out"
}

apply() {
  safe_dir "$sudoers"
  if id ssm-user >/dev/null 2>&1; then echo "SSMUSER yes"; else echo "SSMUSER no"; fi
  list=$(names)
  for name in $list; do safe_file "$sudoers/$name"; done
  [ "$pi" != yes ] || [ ! -e "$sudoers/010_pi-nopasswd" ] || check_passwords "$sudoers/010_pi-nopasswd"
  if [ "$action" = dry-run ]; then
    for name in $list; do
      f=$sudoers/$name
      after=$(new_content "$name" | b64)
      if [ -e "$f" ] && [ "$after" = "$(b64 <"$f")" ]; then
        echo "FILE $name unchanged - -"
        continue
      fi
      err=$(new_content "$name" | visudo -c -f - 2>&1) || fail "the new $name does not pass visudo: $err"
      if [ -e "$f" ]; then state=change; else state=create; fi
      echo "FILE $name $state $(content "$f") $after"
    done
    return 0
  fi
  backup_dir create
  exec 9<"$backups"
  flock -w 20 9 || fail "$backups stayed locked for 20 s (another harden running?)"
  for name in $list; do
    safe_file "$sudoers/$name"
    for b in "$backups/$name" "$backups/$name.absent"; do
      [ ! -L "$b" ] || fail "$b is a symbolic link: not following it"
    done
  done
  # 1. every new file, checked, before anything is replaced (a file that stays as it is is not
  #    even copied: a second run changes nothing, not even a directory's mtime)
  changes=
  for name in $list; do
    f=$sudoers/$name
    if [ -e "$f" ] && new_content "$name" | cmp -s - "$f"; then
      echo "FILE $name unchanged - -"
      continue
    fi
    tmp=$(mktemp "$sudoers/.ssm-ssh-harden.XXXXXXXXXX") || fail "cannot write in $sudoers"
    temps="$temps $tmp"
    new_content "$name" >"$tmp"
    err=$(visudo -c -f "$tmp" 2>&1) || fail "the new $name does not pass visudo: $err"
    chown 0:0 -- "$tmp" && chmod 0440 -- "$tmp" || fail "cannot set the mode of $tmp"
    changes="$changes $name=$tmp"
  done
  # 2. the old files, kept: for this run's rollback, and as the backup --undo restores
  undo_list=
  report=
  for entry in $changes; do
    name=${entry%%=*}
    f=$sudoers/$name
    keep=$(mktemp "$backups/.new.XXXXXXXXXX") || fail "cannot write in $backups"
    temps="$temps $keep"
    keep_current "$name"
    if [ -e "$f" ]; then
      cp -Pp -- "$f" "$keep" || fail "cannot copy $f"
      keep_backup "$keep" "$name"
      report="$report $name=change=$(content "$f")"
    else
      keep_backup "$keep" "$name.absent"
      report="$report $name=create=-"
    fi
  done
  # 3. the new files in place
  for entry in $changes; do
    name=${entry%%=*}
    mv -fT -- "${entry#*=}" "$sudoers/$name" || {
      rollback
      fail "cannot rename a new file to $sudoers/$name, so the old files were put back"
    }
  done
  for entry in $report; do
    name=${entry%%=*} rest=${entry#*=}
    echo "FILE $name ${rest%%=*} ${rest#*=} $(content "$sudoers/$name")"
  done
  # 4. the whole set
  [ -z "$changes" ] || check_all
  # the agent may have put ssm-user in sudoers some other way, or an admin did
  if id ssm-user >/dev/null 2>&1 && sudo -n -l -U ssm-user 2>/dev/null | grep -q '^ *('; then
    echo "WARN ssm-user may still use sudo through another rule (sudo -l -U ssm-user lists it)"
  fi
}

undo() {
  safe_dir "$sudoers"
  backup_dir look || fail "no backup in $backups: nothing to undo"
  exec 9<"$backups"
  flock -w 20 9 || fail "$backups stayed locked for 20 s (another harden running?)"
  found=no
  undo_list=
  for name in ssm-agent-users 010_pi-nopasswd; do
    f=$sudoers/$name
    safe_file "$f"
    if safe_backup "$backups/$name.absent"; then
      found=yes
      if [ -e "$f" ]; then
        before=$(content "$f")
        keep_current "$name"
        rm -f -- "$f"
        echo "FILE $name remove $before -"
      else
        echo "FILE $name unchanged - -"
      fi
    elif safe_backup "$backups/$name"; then
      found=yes
      tmp=$(mktemp "$sudoers/.ssm-ssh-harden.XXXXXXXXXX") || fail "cannot write in $sudoers"
      temps="$temps $tmp"
      cp -Pp -- "$backups/$name" "$tmp" || fail "cannot copy $backups/$name"
      err=$(visudo -c -f "$tmp" 2>&1) || fail "the backup of $name does not pass visudo: $err"
      before=$(content "$f")
      keep_current "$name"
      install_file "$tmp" "$name"
      echo "FILE $name restore $before $(content "$f")"
    fi
  done
  [ "$found" = yes ] || fail "no backup in $backups: nothing to undo"
  check_all
  # restored: the backups are spent, and the next apply keeps new ones
  rm -f -- "$backups/ssm-agent-users" "$backups/ssm-agent-users.absent" \
    "$backups/010_pi-nopasswd" "$backups/010_pi-nopasswd.absent"
}

cd /
case $action in
  apply | dry-run) apply ;;
  undo) undo ;;
  *) fail "unknown action $action" ;;
esac
# the report is whole: Run Command keeps 2,500 characters of a plugin's output
echo DONE
