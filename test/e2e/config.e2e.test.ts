// ssm-ssh config end to end: the stanzas it writes carry the real ssh to every kind of target,
// `ssh -G` shows what each alias resolves to, and --remove gives the user's file back byte for byte.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, randomData, sha256, startWorld, userSshDir, type World } from '../helpers/e2e.ts'

describe('ssm-ssh config', () => {
  let w: World
  let sshDir: string
  let env: NodeJS.ProcessEnv
  // CRLF, tabs, an existing Host i-*, no final newline; the key settings reach ProxyJump's ssh too
  let userConfig = ''
  const run = (...args: string[]) =>
    execa(process.execPath, [cli, ...args], { env, extendEnv: false, reject: false })
  const ssh = async (host: string, command: string, input?: Buffer) => {
    const r = await execa('ssh', ['-F', join(sshDir, 'config'), host, command], {
      env,
      extendEnv: false,
      reject: false,
      encoding: 'buffer',
      stripFinalNewline: false,
      timeout: 60_000,
      ...(input ? { input } : { stdin: 'ignore' }),
    })
    return {
      exitCode: r.exitCode,
      stdout: Buffer.from(r.stdout).toString(),
      stderr: Buffer.from(r.stderr).toString(),
    }
  }
  beforeAll(async () => {
    w = await startWorld()
    sshDir = join(w.dir, 'dot-ssh')
    mkdirSync(sshDir, { mode: 0o700 })
    userConfig = `# my own config\r\nHost build\r\n\tHostName build.example\r\n\tUser me\r\nHost i-*\r\n  User ec2-user\r\nHost pi-garage\r\n  User custom\r\nHost *\r\n  IdentityFile ${w.key.path}\r\n  IdentitiesOnly yes\r\n  BatchMode yes\r\n  StrictHostKeyChecking no\r\n  UserKnownHostsFile /dev/null\r\n  LogLevel ERROR`
    writeFileSync(join(sshDir, 'config'), userConfig)
    env = { ...w.env, XDG_CACHE_HOME: join(w.dir, 'cache'), XDG_STATE_HOME: join(w.dir, 'state') }
    expect(
      (
        await run(
          'config',
          'add-host',
          'lab-nas',
          '--via',
          'pi-gateway',
          '--host',
          '10.20.0.11',
          '--user',
          'admin',
        )
      ).exitCode,
    ).toBe(0)
    expect(
      (
        await run(
          'config',
          'add-host',
          'lab-vault',
          '--via',
          'lab-nas',
          '--host',
          '10.30.0.5',
          '--user',
          'admin',
        )
      ).exitCode,
    ).toBe(0)
    const r = await run('config', '--ssh-dir', sshDir, '--user', 'pi')
    expect(r.stderr).toMatch(/pi-clone" → alias pi-clone-[0-9a-f]{6} \(clone/)
    expect(r.stderr).toMatch(/your config already has "Host pi-garage": left as you wrote it/)
    expect(readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')).not.toMatch(/^Host pi-garage$/m)
    expect(r.exitCode).toBe(0)
  })
  afterAll(async () => w.close())

  it('adds one Include line at the top and keeps the rest of the user’s bytes', () => {
    const text = readFileSync(join(sshDir, 'config'), 'utf8')
    expect(text.endsWith(userConfig)).toBe(true)
    expect(text.slice(0, text.length - userConfig.length)).toMatch(
      /^# ssm-ssh: .*\r\nInclude .*ssm-ssh\/config\r\n$/,
    )
    const backups = readdirSync(sshDir).filter((f) => /^config\.ssm-ssh\.\d{8}T\d{6}\.\d{3}Z\.bak$/.test(f))
    expect(backups).toHaveLength(1)
    expect(readFileSync(join(sshDir, backups[0] as string), 'utf8')).toBe(userConfig)
  })

  it.each([
    ['pi-kitchen', 'pi', 'pi-kitchen'],
    ['web-1', 'pi', 'ec2-user@web-1'],
  ])('%s works and ssh -G shows HostName, HostKeyAlias, ProxyCommand, User', async (alias, user, target) => {
    const g = await execa('ssh', ['-F', join(sshDir, 'config'), '-G', alias], { env, extendEnv: false })
    const id = w.idOf(alias)
    expect(g.stdout).toContain(`hostname ${id}`)
    expect(g.stdout).toContain(`hostkeyalias ${id}`)
    expect(g.stdout).toContain(`user ${user}`)
    // the region the block is labelled with (AWS_REGION here) is the stanza's too
    expect(g.stdout).toMatch(/proxycommand .*ssm-ssh.mjs'? proxy --region eu-west-1 %h %p/)
    const r = await ssh(target, 'echo ok')
    expect(r.stdout).toBe('ok\n')
  })

  it('an id works through the wildcard block, each clone through its own alias', async () => {
    expect((await ssh(`pi@${w.idOf('pi-attic')}`, 'echo ok')).stdout).toBe('ok\n')
    const ours = readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')
    const clones = [...ours.matchAll(/^Host (pi-clone-[0-9a-f]{6})$/gm)].map((m) => m[1] as string)
    expect(clones).toHaveLength(2)
    for (const alias of clones) expect((await ssh(alias, 'echo clone')).stdout).toBe('clone\n')
  })

  it('reaches a private host one hop away and scp-like 1 MiB two hops away', async () => {
    expect((await ssh('lab-nas', 'echo nas')).stdout).toBe('nas\n')
    const g = await execa('ssh', ['-F', join(sshDir, 'config'), '-G', 'lab-vault'], { env, extendEnv: false })
    expect(g.stdout).toContain('proxyjump lab-nas')
    const data = randomData(1024 * 1024, 8)
    const r = await ssh('lab-vault', 'cat > f && sha256sum f', data)
    expect(r.stdout.split(' ')[0]).toBe(sha256(data))
  })

  it('scp copies 1 MiB through the two-hop path with equal sha256', async () => {
    const data = randomData(1024 * 1024, 12)
    const local = join(w.dir, 'payload.bin')
    writeFileSync(local, data)
    // -O: the classic scp protocol (runs scp on the host); SFTP too where an sftp-server is installed
    const modes = existsSync('/usr/lib/openssh/sftp-server') ? [['-O'], []] : [['-O']]
    for (const mode of modes) {
      const up = await execa(
        'scp',
        ['-v', '-F', join(sshDir, 'config'), ...mode, local, 'lab-vault:copy.bin'],
        { env, extendEnv: false, reject: false, timeout: 60_000 },
      )
      expect(up.exitCode, up.stderr.split('\n').slice(-15).join('\n')).toBe(0)
      const back = join(w.dir, `back${mode.length}.bin`)
      const down = await execa('scp', ['-F', join(sshDir, 'config'), ...mode, 'lab-vault:copy.bin', back], {
        env,
        extendEnv: false,
        reject: false,
        timeout: 60_000,
      })
      expect(down.exitCode, down.stderr).toBe(0)
      expect(sha256(readFileSync(back))).toBe(sha256(data))
    }
  })

  it('config add-host … --user admin gives admin to that hop only (it wrote User admin into every instance stanza)', async () => {
    const r = await run(
      'config',
      'add-host',
      'lab-printer',
      '--via',
      'pi-gateway',
      '--host',
      '10.20.0.10',
      '--user',
      'admin',
      '--ssh-dir',
      sshDir,
    )
    expect(r.exitCode, r.stderr).toBe(0)
    const ours = readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')
    expect(ours.match(/^ {2}User admin$/gm)).toHaveLength(3) // lab-printer, lab-nas, lab-vault
    const g = await execa('ssh', ['-F', join(sshDir, 'config'), '-G', 'pi-kitchen'], {
      env,
      extendEnv: false,
    })
    expect(g.stdout).not.toContain('user admin')
    expect((await ssh('lab-printer', 'echo printer')).stdout).toBe('printer\n')
    expect((await ssh('pi@pi-kitchen', 'echo kitchen')).stdout).toBe('kitchen\n')
    // the instances' own user comes back with the next plain run
    expect((await run('config', '--ssh-dir', sshDir, '--user', 'pi')).exitCode).toBe(0)
  })

  it('config hosts lists the added hosts; remove-host takes one out (there was no way to), not one others go through', async () => {
    const hosts = await run('config', 'hosts')
    expect(hosts.exitCode).toBe(0)
    expect(hosts.stdout).toMatch(/^lab-nas → 10\.20\.0\.11:22 via pi-gateway as admin$/m)
    expect(hosts.stdout).toMatch(/^lab-vault → 10\.30\.0\.5:22 via lab-nas as admin$/m)
    const blocked = await run('config', 'remove-host', 'lab-nas', '--ssh-dir', sshDir)
    expect(blocked.exitCode).toBe(2)
    expect(blocked.stderr).toMatch(/^ssm-ssh: lab-vault goes through lab-nas\n/)
    const removed = await run('config', 'remove-host', 'lab-printer', '--ssh-dir', sshDir, '--user', 'pi')
    expect(removed.exitCode, removed.stderr).toBe(0)
    expect(readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')).not.toMatch(/^Host lab-printer$/m)
    expect((await run('config', 'hosts')).stdout).not.toMatch(/^lab-printer /m)
    const unknown = await run('config', 'remove-host', 'nope')
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toMatch(
      /^ssm-ssh: no host "nope" was added\n {2}hint: ssm-ssh config hosts lists them/,
    )
  })

  it('a second run changes nothing (--check is clean) and --remove restores the user’s file', async () => {
    expect((await run('config', '--ssh-dir', sshDir, '--user', 'pi', '--check')).exitCode).toBe(0)
    const r = await run('config', '--ssh-dir', sshDir, '--remove')
    expect(r.exitCode).toBe(0)
    expect(readFileSync(join(sshDir, 'config'), 'utf8')).toBe(userConfig)
    expect((await run('config', '--ssh-dir', sshDir, '--check')).exitCode).toBe(1)
  })
})

describe('ssm-ssh config --push-key (one step for fresh instances)', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld()
  })
  afterAll(async () => w.close())

  it('ssh to a Pi that never had the key, verified against the pinned host key', async () => {
    const sshDir = join(w.dir, 'dot-ssh-push')
    mkdirSync(sshDir, { mode: 0o700 })
    writeFileSync(join(sshDir, 'config'), 'Host *\n  BatchMode yes\n  LogLevel ERROR\n')
    const env = { ...w.env, XDG_CACHE_HOME: join(w.dir, 'cache2'), XDG_STATE_HOME: join(w.dir, 'state2') }
    const r = await execa(
      process.execPath,
      [cli, 'config', '--ssh-dir', sshDir, '--user', 'pi', '--push-key'],
      { env, extendEnv: false, reject: false },
    )
    expect(r.exitCode).toBe(0)
    const g = await execa('ssh', ['-F', join(sshDir, 'config'), '-G', 'pi-attic'], { env, extendEnv: false })
    expect(g.stdout).toContain('stricthostkeychecking true')
    expect(g.stdout).toContain(`userknownhostsfile ${join(sshDir, 'ssm-ssh', 'known_hosts')}`)
    expect(g.stdout).toMatch(
      /proxycommand .* proxy --region eu-west-1 --ssh-dir .* --push-key --user %r %h %p/,
    )
    const ssh = await execa('ssh', ['-F', join(sshDir, 'config'), 'pi-attic', 'echo one-step'], {
      env,
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    })
    expect(ssh.stderr).toBe('')
    expect(ssh.stdout).toBe('one-step')
    expect(readFileSync(join(sshDir, 'ssm-ssh', 'known_hosts'), 'utf8')).toMatch(
      new RegExp(`^${w.idOf('pi-attic')} ssh-ed25519 `),
    )
  })
})

describe('ssm-ssh config keeps the user’s files safe', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld()
  })
  afterAll(async () => w.close())
  const config = (sshDir: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
    execa(process.execPath, [cli, ...extra, 'config', '--ssh-dir', sshDir, '--user', 'pi'], {
      env: { ...w.env, XDG_CACHE_HOME: join(w.dir, 'cache-safe'), ...env },
      extendEnv: false,
      reject: false,
    })

  it('3 regions configured at once keep their 3 blocks (files were read outside the lock: 1 or 2 survived)', async () => {
    const sshDir = join(w.dir, 'dot-ssh-concurrent')
    mkdirSync(sshDir, { mode: 0o700 })
    writeFileSync(join(sshDir, 'config'), 'Host mine\n  User me\n')
    const runs = await Promise.all(
      ['eu-west-1', 'eu-north-1', 'us-east-1'].map((r) => config(sshDir, ['--region', r])),
    )
    for (const r of runs) expect(r.exitCode, r.stderr).toBe(0)
    const ours = readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')
    for (const r of ['eu-west-1', 'eu-north-1', 'us-east-1'])
      expect(ours).toContain(`# >>> ssm-ssh profile=default region=${r} `)
    const user = readFileSync(join(sshDir, 'config'), 'utf8')
    expect(user.match(/^Include /gm)).toHaveLength(1)
    expect(user.endsWith('Host mine\n  User me\n')).toBe(true)
  })

  it('a symlinked ~/.ssh/config (a dotfiles repository) stays a link; the file it points to gets the Include', async () => {
    const sshDir = join(w.dir, 'dot-ssh-link')
    mkdirSync(sshDir, { mode: 0o700 })
    const dotfiles = join(w.dir, 'dotfiles')
    mkdirSync(dotfiles)
    writeFileSync(join(dotfiles, 'ssh_config'), 'Host mine\n  User me\n')
    symlinkSync(join(dotfiles, 'ssh_config'), join(sshDir, 'config'))
    const r = await config(sshDir)
    expect(r.exitCode, r.stderr).toBe(0)
    expect(lstatSync(join(sshDir, 'config')).isSymbolicLink()).toBe(true)
    expect(readFileSync(join(dotfiles, 'ssh_config'), 'utf8')).toMatch(
      /^# ssm-ssh: .*\nInclude .*\nHost mine\n {2}User me\n$/,
    )
  })

  it('each run that changes the config keeps a dated backup, the last five (one .bak was overwritten each time)', async () => {
    const sshDir = join(w.dir, 'dot-ssh-backups')
    mkdirSync(sshDir, { mode: 0o700 })
    const versions = ['Host one\n', 'Host two\n', 'Host three\n']
    for (const v of versions) {
      writeFileSync(join(sshDir, 'config'), v)
      expect((await config(sshDir)).exitCode).toBe(0)
    }
    const backups = readdirSync(sshDir)
      .filter((f) => f.endsWith('.bak'))
      .sort()
    expect(backups.map((f) => readFileSync(join(sshDir, f), 'utf8'))).toEqual(versions)
  })

  it('ssh NAME.ssm resolves the name when connecting: a renamed instance works without re-running config (ids were baked in)', async () => {
    const sshDir = userSshDir(w, 'dot-ssh-suffix')
    expect((await config(sshDir)).exitCode).toBe(0)
    expect(readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')).toMatch(
      /^Host \*\.ssm\n {2}User pi\n {2}ProxyCommand .* proxy --region eu-west-1 --strip-suffix \.ssm %h %p$/m,
    )
    const ssh = (host: string) =>
      execa('ssh', ['-F', join(sshDir, 'config'), host, 'echo $USER-at-$((6*7))'], {
        env: { ...w.env, XDG_CACHE_HOME: join(w.dir, 'cache-safe') },
        extendEnv: false,
        reject: false,
        timeout: 60_000,
      })
    const first = await ssh('pi-attic.ssm')
    expect(first.stderr).toBe('')
    expect(first.stdout).toBe('pi-at-42')
    // renamed in the cloud after config ran: the alias stanza is stale, the .ssm name is not
    w.box.state.instances.get(w.idOf('pi-attic'))?.tags.set('Name', 'pi-loft')
    const renamed = await ssh('pi-loft.ssm')
    expect(renamed.stderr).toBe('')
    expect(renamed.stdout).toBe('pi-at-42')
  })

  it('a Name tag never takes over a name the user’s ssh already resolves (gitlab.com, or a wildcard in their config)', async () => {
    const sshDir = join(w.dir, 'dot-ssh-hijack')
    mkdirSync(sshDir, { mode: 0o700 })
    writeFileSync(join(sshDir, 'config'), 'Host pi-kit*\n  HostName build.example\n')
    w.box.state.instances.get(w.idOf('web-2'))?.tags.set('Name', 'gitlab.com')
    const r = await config(sshDir)
    expect(r.exitCode, r.stderr).toBe(0)
    const ours = readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')
    expect(ours).not.toMatch(/^Host gitlab\.com$/m)
    expect(ours).not.toMatch(/^Host pi-kitchen$/m)
    expect(ours).toMatch(/^Host pi-garage$/m)
    expect(r.stderr).toMatch(/is named "gitlab\.com", which looks like a host name: no alias/)
    expect(r.stderr).toMatch(/your ssh already sends "pi-kitchen" elsewhere \(ssh -G\): not shadowed/)
    const g = await execa('ssh', ['-F', join(sshDir, 'config'), '-G', 'gitlab.com'], {
      env: w.env,
      extendEnv: false,
    })
    expect(g.stdout).toMatch(/^hostname gitlab\.com$/m)
    expect(g.stdout).not.toMatch(/^proxycommand /m)
  })

  it('--persist 10m: a second ssh rides the first one’s session (one StartSession for two connections)', async () => {
    // short: a control socket's path (this + cm- + 40 hex + ssh's temporary suffix) must fit 104 bytes
    const sshDir = userSshDir(w, 'p')
    const r = await execa(
      process.execPath,
      [cli, 'config', '--ssh-dir', sshDir, '--user', 'pi', '--persist', '10m'],
      {
        env: { ...w.env, XDG_CACHE_HOME: join(w.dir, 'cache-safe') },
        extendEnv: false,
        reject: false,
      },
    )
    expect(r.exitCode, r.stderr).toBe(0)
    expect(readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')).toMatch(
      /^Host pi-kitchen\n(.*\n)* {2}ControlMaster auto\n {2}ControlPath .*\/ssm-ssh\/cm-%C\n {2}ControlPersist 10m\n/m,
    )
    const ssh = (...args: string[]) =>
      execa('ssh', ['-F', join(sshDir, 'config'), ...args], {
        env: { ...w.env, XDG_CACHE_HOME: join(w.dir, 'cache-safe') },
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        timeout: 60_000,
      })
    const starts = () => w.box.state.requests.filter((q) => q.operation === 'StartSession').length
    const before = starts()
    expect((await ssh('pi-kitchen', 'echo first')).stdout).toBe('first')
    expect((await ssh('pi-kitchen', 'echo second')).stdout).toBe('second')
    expect(starts() - before).toBe(1)
    expect((await ssh('-O', 'exit', 'pi-kitchen')).exitCode).toBe(0)
  })

  it('--dry-run prints a unified diff of both files and writes nothing', async () => {
    const sshDir = join(w.dir, 'dot-ssh-dry')
    mkdirSync(sshDir, { mode: 0o700 })
    writeFileSync(join(sshDir, 'config'), 'Host mine\n  User me\n')
    const r = await config(sshDir, [], {})
    expect(r.exitCode).toBe(0)
    writeFileSync(join(sshDir, 'config'), 'Host mine\n  User me\n')
    const dry = await execa(
      process.execPath,
      [cli, 'config', '--ssh-dir', sshDir, '--user', 'admin', '--dry-run'],
      {
        env: { ...w.env, XDG_CACHE_HOME: join(w.dir, 'cache-safe') },
        extendEnv: false,
        reject: false,
      },
    )
    expect(dry.exitCode).toBe(0)
    expect(dry.stdout).toMatch(
      /^--- .*\/config\n\+\+\+ .*\/config \(after ssm-ssh config\)\n@@ -1,2 \+1,4 @@\n\+# ssm-ssh: /m,
    )
    expect(dry.stdout).toMatch(/^- {2}User pi\n\+ {2}User admin$/m)
    expect(readFileSync(join(sshDir, 'config'), 'utf8')).toBe('Host mine\n  User me\n')
  })
})
