// ssm-ssh harden on a real instance (AWS's own amazon-ssm-agent 3.3.1142.0, its own /etc, real sudo):
// the agent itself makes ssm-user a NOPASSWD sudoer on the first shell session; harden takes that away
// for good (the agent does not bring it back, even when it re-creates ssm-user), and with
// --pi-nopasswd the owner sudoes with their password only; a second run changes no byte; --dry-run
// writes nothing; --undo restores the files byte for byte; planted links and a broken sudoers set
// are refused. The tests run in order on one instance: each starts from the state the last one left.
import { execa } from 'execa'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'
import { type InstanceShell, realInstance } from '../helpers/instance-shell.ts'
import { findOfficialPlugin } from '../helpers/plugin.ts'
import { describeReal } from '../helpers/real.ts'
import { openShellSession } from '../helpers/shell-session.ts'

const REAL = 'pi-kitchen'
const SSM_FILE = '/etc/sudoers.d/ssm-agent-users'
const PI_FILE = '/etc/sudoers.d/010_pi-nopasswd'
const BACKUPS = '/var/lib/ssm-ssh/harden'
const PASSWORD = 'correct horse battery'
/** What the agent writes (agent/session/utility/utility_unix.go createSudoersFileIfNotPresent). */
const AGENT_RULES = '# User rules for ssm-user\nssm-user ALL=(ALL) NOPASSWD:ALL\n'

/** Path, type, mode, owner, size, mtime (ns) and sha256 of the sudoers files and harden's backups. */
const SNAPSHOT = `for f in /etc/sudoers.d /etc/sudoers.d/* /etc/sudoers.d/.[!.]* /var/lib/ssm-ssh /var/lib/ssm-ssh/harden \
  /var/lib/ssm-ssh/harden/* /var/lib/ssm-ssh/harden/.[!.]* /root/planted*; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  printf '%s %s\\n' "$(stat -c '%n %F %a %U:%G %s %y' "$f")" "$(if [ -f "$f" ]; then sha256sum <"$f" | cut -c1-64; fi)"
done`

/** The snapshot's files alone: a directory's mtime moves whenever a file comes or goes in it. */
const filesOf = (snapshot: string) =>
  snapshot
    .split('\n')
    .filter((line) => !line.includes(' directory '))
    .join('\n')

interface Ran {
  exitCode: number | undefined
  stdout: string
  stderr: string
}

describeReal('harden on a real instance (amazon-ssm-agent 3.3.1142.0)', () => {
  let w: World
  let host: InstanceShell
  let plugin: string
  /** the files as the agent and the init script left them, before any harden */
  let original = ''

  const harden = async (...args: string[]): Promise<Ran> => {
    const r = await execa(process.execPath, [cli, 'harden', REAL, ...args], {
      env: w.env,
      extendEnv: false,
      reject: false,
      timeout: 120_000,
    })
    return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) }
  }
  const root = async (command: string) => {
    const r = await host.asRoot(command)
    if (r.exitCode !== 0) throw new Error(`${command}: exit ${r.exitCode}: ${r.stderr}`)
    return r.stdout
  }
  const snapshot = () => root(SNAPSHOT)
  const files = () => root(`cat ${SSM_FILE}; echo ---; cat ${PI_FILE}`)
  /** ssm-user's sudo -n, in a Session Manager shell session: "rc=0" when it may sudo without a password */
  const ssmUserSudo = async () => {
    const session = await openShellSession(w, plugin, host.id)
    try {
      session.type('echo "as=$(id -un)"; sudo -n true; echo "sudo-rc=$?"')
      await session.waitFor(/^sudo-rc=\d+/m)
      return {
        user: /^as=(\S+)/m.exec(session.screen())?.[1],
        rc: Number(/^sudo-rc=(\d+)/m.exec(session.screen())?.[1]),
      }
    } finally {
      await session.close()
    }
  }
  /** the same from a Run Command script: su to ssm-user, then sudo -n */
  const suSudo = async (user: string) =>
    (await host.asRoot(`su -s /bin/sh -c 'sudo -n true' ${user}`)).exitCode

  beforeAll(async () => {
    const found = findOfficialPlugin()
    if (!found) throw new Error('no session-manager-plugin (PATH or ../shared/tools)')
    plugin = found
    w = await startWorld({ real: 1 })
    host = realInstance(w, REAL)
  }, 120_000)
  afterAll(async () => w?.close())

  it('the agent itself makes ssm-user a NOPASSWD sudoer on the first shell session', async () => {
    expect((await host.asRoot('id ssm-user')).exitCode).not.toBe(0)
    expect((await host.asRoot(`test -e ${SSM_FILE}`)).exitCode).not.toBe(0)
    expect(await ssmUserSudo()).toEqual({ user: 'ssm-user', rc: 0 })
    expect(await root(`cat ${SSM_FILE}`)).toBe(AGENT_RULES)
    expect(await root(`stat -c '%a %U:%G' ${SSM_FILE}`)).toBe('440 root:root\n')
    expect(
      await root(
        'grep -c "Successfully created file /etc/sudoers.d/ssm-agent-users" /var/log/amazon/ssm/amazon-ssm-agent.log',
      ),
    ).toBe('1\n')
    expect(await suSudo('ssm-user')).toBe(0)
    expect(await suSudo('pi')).toBe(0)
    original = await snapshot()
  }, 90_000)

  it('--pi-nopasswd is refused while pi has no password (pi would lose sudo); nothing written', async () => {
    const r = await harden('--pi-nopasswd')
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toMatch(/^FAILED +mi-\w+ +pi-kitchen +pi has no password \(passwd pi first\)/m)
    expect(r.stderr).toMatch(/1 of 1 hosts failed/)
    expect(await snapshot()).toBe(original)
  }, 60_000)

  it('--dry-run prints the diff and writes nothing', async () => {
    await root(`echo 'pi:${PASSWORD}' | chpasswd`)
    original = await snapshot()
    const r = await harden('--pi-nopasswd', '--dry-run')
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain(`--- ${SSM_FILE}\n+++ ${SSM_FILE} (after ssm-ssh harden)\n`)
    expect(r.stdout).toContain('\n-ssm-user ALL=(ALL) NOPASSWD:ALL\n+# ssm-user ALL=(ALL) NOPASSWD:ALL\n')
    expect(r.stdout).toContain('\n-pi ALL=(ALL) NOPASSWD: ALL\n+pi ALL=(ALL) PASSWD: ALL\n')
    expect(r.stdout).toMatch(
      /^changed +mi-\w+ +pi-kitchen +ssm-agent-users would be hardened, 010_pi-nopasswd would be hardened$/m,
    )
    expect(await snapshot()).toBe(original)
  }, 60_000)

  it('harden --pi-nopasswd: ssm-user cannot sudo, pi only with the password', async () => {
    const r = await harden('--pi-nopasswd')
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(
      /^changed +mi-\w+ +pi-kitchen +ssm-agent-users hardened, 010_pi-nopasswd hardened$/m,
    )
    expect(await files()).toBe(
      [
        '# User rules for ssm-user: none. ssm-ssh harden made them comments; keep this file, since',
        '# amazon-ssm-agent writes "ssm-user ALL=(ALL) NOPASSWD:ALL" here only when it is missing.',
        '# User rules for ssm-user',
        '# ssm-user ALL=(ALL) NOPASSWD:ALL',
        '---',
        'pi ALL=(ALL) PASSWD: ALL',
        '',
      ].join('\n'),
    )
    expect(await root(`stat -c '%a %U:%G' ${SSM_FILE} ${PI_FILE} /var/lib/ssm-ssh ${BACKUPS}`)).toBe(
      '440 root:root\n440 root:root\n700 root:root\n700 root:root\n',
    )
    // the backups are the files as they were, byte for byte
    expect(await root(`cat ${BACKUPS}/ssm-agent-users`)).toBe(AGENT_RULES)
    expect(await root(`cat ${BACKUPS}/010_pi-nopasswd`)).toBe('pi ALL=(ALL) NOPASSWD: ALL\n')
    expect(await root('visudo -c')).toContain('parsed OK')
    // ssm-user, in a real Session Manager shell session and through su: no sudo
    expect(await ssmUserSudo()).toEqual({ user: 'ssm-user', rc: 1 })
    expect(await suSudo('ssm-user')).not.toBe(0)
    expect(await root('sudo -l -U ssm-user')).toMatch(/User ssm-user is not allowed to run sudo/)
    // pi: not without the password, still with it (a fresh sudo timestamp: -k)
    expect(await suSudo('pi')).not.toBe(0)
    const withPassword = await host.asRoot(
      `printf '%s\\n' '${PASSWORD}' | su -s /bin/sh -c 'sudo -S -k -p "" id -un' pi`,
    )
    expect(withPassword).toMatchObject({ exitCode: 0, stdout: 'root\n' })
    const wrongPassword = await host.asRoot(`printf 'wrong\\n' | su -s /bin/sh -c 'sudo -S -k -p "" true' pi`)
    expect(wrongPassword.exitCode).not.toBe(0)
  }, 120_000)

  it('a second run reports nothing changed and changes no byte or mtime; --json says the same', async () => {
    const before = await snapshot()
    const r = await harden('--pi-nopasswd')
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(
      /^unchanged +mi-\w+ +pi-kitchen +ssm-agent-users already hardened, 010_pi-nopasswd already hardened$/m,
    )
    const json = await harden('--pi-nopasswd', '--json')
    expect(json.exitCode).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({
      name: REAL,
      status: 'unchanged',
      action: 'apply',
      ssmUser: true,
      files: [
        { path: SSM_FILE, state: 'unchanged' },
        { path: PI_FILE, state: 'unchanged' },
      ],
    })
    expect(await snapshot()).toBe(before)
  }, 60_000)

  it('the agent does not bring the rule back, even when it creates ssm-user again', async () => {
    const before = await snapshot()
    await root('pkill -KILL -u ssm-user; userdel -r ssm-user 2>/dev/null; ! id ssm-user 2>/dev/null')
    // the agent re-creates ssm-user for this session, finds the file and leaves it as it is
    expect(await ssmUserSudo()).toEqual({ user: 'ssm-user', rc: 1 })
    expect(
      await root(
        'grep -c "File /etc/sudoers.d/ssm-agent-users already exists" /var/log/amazon/ssm/amazon-ssm-agent.log',
      ),
    ).toBe('1\n')
    expect(await snapshot()).toBe(before)
  }, 120_000)

  it('--undo restores the files byte for byte (and mtime) and drops its backups', async () => {
    const r = await harden('--undo')
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(
      /^changed +mi-\w+ +pi-kitchen +ssm-agent-users restored from the backup, 010_pi-nopasswd restored from the backup$/m,
    )
    // the files as they were (the backup directory stays, empty)
    expect(filesOf(await snapshot())).toBe(filesOf(original))
    expect(await root(`ls -A ${BACKUPS}`)).toBe('')
    expect(await suSudo('ssm-user')).toBe(0)
    const again = await harden('--undo')
    expect(again.exitCode).toBe(1)
    expect(again.stdout).toMatch(/FAILED .* no backup in \/var\/lib\/ssm-ssh\/harden: nothing to undo/)
  }, 60_000)

  it('a link planted as the sudoers file, a backup or the backup directory is never followed', async () => {
    await root(`printf 'keep me\\n' >/root/planted-target && chmod 600 /root/planted-target`)
    const clean = await snapshot()
    const refused = async (args: string[], reason: RegExp) => {
      const r = await harden(...args)
      expect(r.exitCode).toBe(1)
      expect(r.stdout).toMatch(reason)
    }
    // 1. the sudoers file itself
    await root(`cp -p ${SSM_FILE} /root/planted-saved && ln -sfn /root/planted-target ${SSM_FILE}`)
    const linked = await snapshot()
    await refused([], /FAILED .* \/etc\/sudoers\.d\/ssm-agent-users is a symbolic link: not following it/)
    expect(await snapshot()).toBe(linked)
    await root(`mv -fT /root/planted-saved ${SSM_FILE}`)
    // 2. a backup, for apply (which would link to it) and for undo (which would read it)
    await root(`ln -s /root/planted-target ${BACKUPS}/ssm-agent-users`)
    const withLink = await snapshot()
    await refused([], /FAILED .* \/var\/lib\/ssm-ssh\/harden\/ssm-agent-users is a symbolic link/)
    await refused(['--undo'], /FAILED .* \/var\/lib\/ssm-ssh\/harden\/ssm-agent-users is a symbolic link/)
    expect(await snapshot()).toBe(withLink)
    await root(`rm ${BACKUPS}/ssm-agent-users`)
    // 3. the backup directory
    await root(`rmdir ${BACKUPS} && mkdir -m 700 /root/planted-dir && ln -s /root/planted-dir ${BACKUPS}`)
    const dirLink = await snapshot()
    await refused([], /FAILED .* \/var\/lib\/ssm-ssh\/harden is a symbolic link: not following it/)
    expect(await snapshot()).toBe(dirLink)
    expect(await root('ls -A /root/planted-dir')).toBe('')
    await root(`rm ${BACKUPS} && rmdir /root/planted-dir && mkdir -m 700 ${BACKUPS}`)
    // (the test's own links came and went: directories' mtimes moved, no file changed)
    expect(filesOf(await snapshot())).toBe(filesOf(clean))
  }, 120_000)

  it('a sudoers set visudo rejects after the change: everything put back, reported', async () => {
    // a broken file someone else left: sudo would refuse to run at all, and visudo -c says so
    await root(
      `printf 'this is not sudoers\\n' >/etc/sudoers.d/zz_broken && chmod 440 /etc/sudoers.d/zz_broken`,
    )
    const before = await snapshot()
    const r = await harden('--pi-nopasswd')
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toMatch(
      /FAILED .* visudo -c rejected the result, so the old files were put back: .*zz_broken/,
    )
    expect(filesOf(await snapshot())).toBe(filesOf(before))
    await root('rm /etc/sudoers.d/zz_broken')
  }, 60_000)

  it('before the first session: the file is made a comment, and the agent creates ssm-user without sudo', async () => {
    // a Pi no one has opened a session to yet
    await root(`pkill -KILL -u ssm-user; userdel -r ssm-user 2>/dev/null; rm ${SSM_FILE}`)
    const fresh = await snapshot()
    const r = await harden()
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(
      /^changed +mi-\w+ +pi-kitchen +ssm-agent-users created as a comment \(no ssm-user yet: the agent will make one without sudo\)$/m,
    )
    expect(await root(`stat -c '%a %U:%G' ${SSM_FILE}`)).toBe('440 root:root\n')
    expect(await root(`ls -A ${BACKUPS}`)).toBe('ssm-agent-users.absent\n')
    expect(await ssmUserSudo()).toEqual({ user: 'ssm-user', rc: 1 })
    expect(await root(`grep -v '^#' ${SSM_FILE} || true`)).toBe('')
    // --undo removes the file harden made
    const undone = await harden('--undo')
    expect(undone.exitCode).toBe(0)
    expect(undone.stdout).toMatch(
      /^changed +mi-\w+ +pi-kitchen +ssm-agent-users removed \(harden had created it\)$/m,
    )
    expect(filesOf(await snapshot())).toBe(filesOf(fresh))
  }, 90_000)

  it('a rule for ssm-user in another file: hardened all the same, with a warning naming it', async () => {
    await root(
      `printf 'ssm-user ALL=(ALL) NOPASSWD: /usr/bin/id\\n' >/etc/sudoers.d/50-extra && chmod 440 /etc/sudoers.d/50-extra`,
    )
    const r = await harden()
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(
      /^changed +mi-\w+ +pi-kitchen +ssm-agent-users created as a comment; WARNING: ssm-user may still use sudo through another rule \(sudo -l -U ssm-user lists it\)$/m,
    )
    await root('rm /etc/sudoers.d/50-extra')
    expect((await harden('--undo')).exitCode).toBe(0)
  }, 60_000)

  it('a report longer than Run Command keeps (2,500 characters) is a failure, not a quiet "unchanged"', async () => {
    const line = `# ${'x'.repeat(70)}`
    await root(`for i in $(seq 60); do echo '${line}'; done >${SSM_FILE} && chmod 440 ${SSM_FILE}`)
    const before = await snapshot()
    const r = await harden('--dry-run')
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toMatch(
      /^FAILED +mi-\w+ +pi-kitchen +its report was cut short \(Run Command keeps 2,500 characters of output\)/m,
    )
    expect(await snapshot()).toBe(before)
  }, 60_000)
})
