// The CLI as a new user meets it (issue 15, "Install and CLI"): the installed command, the version,
// flags that are wrong, and arguments that belong to ssh. Each test is named after what was broken.
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, root, startWorld, type World } from '../helpers/e2e.ts'
import { sshBaseArgs } from '../helpers/ssh-key.ts'

const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version

describe('the CLI as a new user meets it', () => {
  let w: World
  const run = (args: string[], env: NodeJS.ProcessEnv = w.env) =>
    execa(process.execPath, [cli, ...args], { env, extendEnv: false, reject: false, stdin: 'ignore' })
  beforeAll(async () => {
    w = await startWorld()
  })
  afterAll(async () => w.close())

  it('--version and -V print the package version (they printed 0.0.0-dev, and -V the usage with exit 2)', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await run([flag])
      expect(r.stdout).toBe(version)
      expect(r.exitCode).toBe(0)
    }
  })

  it('a checkout without dist/ says to run npm install (it was a raw ERR_MODULE_NOT_FOUND stack)', async () => {
    const fresh = join(w.dir, 'fresh-clone')
    mkdirSync(join(fresh, 'bin'), { recursive: true })
    copyFileSync(cli, join(fresh, 'bin', 'ssm-ssh.mjs'))
    const r = await execa(process.execPath, [join(fresh, 'bin', 'ssm-ssh.mjs'), 'ls'], { reject: false })
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toBe(
      `ssm-ssh: this checkout is not built (no dist/)\n  hint: run npm install (or npm run build) in ${fresh}/`,
    )
  })

  it.each([
    [['ls', '--bogus'], "ssm-ssh: Unknown option '--bogus'"],
    [['push-key', 'pi-kitchen', '--ttl'], "ssm-ssh: Option '--ttl <value>' argument missing"],
    [['config', 'add-host', '--user'], "ssm-ssh: Option '--user <value>' argument missing"],
  ])(
    'an unknown or value-less flag is a usage error, exit 2 (it was "internal error … report it", exit 1): %j',
    async (args, line) => {
      const r = await run(args)
      expect(r.exitCode).toBe(2)
      expect(r.stderr.split('\n')[0]).toBe(line)
      expect(r.stderr).not.toMatch(/internal error|at .*\.cjs/)
    },
  )

  it('-h after -- belongs to the remote command, not to our help (ssm-ssh ssh host -- grep -h x f)', async () => {
    const r = await run(['ssh', 'pi@pi-garage', '--', ...sshBaseArgs(w.key.path), 'echo a:b | grep -h -o b'])
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('b')
    expect(r.exitCode).toBe(0)
  })

  it('-v after the ssh target reaches ssh (it was swallowed as our own --verbose)', async () => {
    const r = await run(['ssh', 'pi@pi-garage', ...sshBaseArgs(w.key.path), '-v', 'true'])
    expect(r.exitCode).toBe(0)
    expect(r.stderr).toMatch(/^debug1: /m)
    expect(r.stderr).not.toMatch(/^ssm-ssh: /m)
  })

  it('ssm-ssh ssh -l pi pi-garage finds the target after ssh’s options (it said "needs a target first")', async () => {
    const r = await run([
      'ssh',
      '-l',
      'pi',
      '-o',
      'BatchMode=yes',
      'pi-garage',
      ...sshBaseArgs(w.key.path),
      'echo $USER',
    ])
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('pi')
  })

  it('config writes the installed ssm-ssh when PATH has it, and ssh works through it (it hard-coded node and the clone)', async () => {
    // what npm install -g . and npm link make: PREFIX/bin/ssm-ssh → the checkout's bin/ssm-ssh.mjs
    const prefix = join(w.dir, 'prefix')
    mkdirSync(join(prefix, 'bin'), { recursive: true })
    symlinkSync(cli, join(prefix, 'bin', 'ssm-ssh'))
    const sshDir = join(w.dir, 'dot-ssh-installed')
    mkdirSync(sshDir, { mode: 0o700 })
    const env = {
      ...w.env,
      PATH: `${prefix}/bin:${dirname(process.execPath)}:${w.env.PATH ?? ''}`,
      XDG_CACHE_HOME: join(w.dir, 'cache-installed'),
    }
    const r = await run(['config', '--ssh-dir', sshDir, '--user', 'pi'], env)
    expect(r.exitCode, r.stderr).toBe(0)
    const ours = readFileSync(join(sshDir, 'ssm-ssh', 'config'), 'utf8')
    expect(ours).toContain(`ProxyCommand ${prefix}/bin/ssm-ssh proxy --region eu-west-1 %h %p`)
    expect(ours).not.toContain(process.execPath)
    const ssh = await execa(
      'ssh',
      // sshBaseArgs without its -F /dev/null: this config is the point
      [
        '-F',
        join(sshDir, 'config'),
        ...sshBaseArgs(w.key.path).slice(0, -2),
        'pi-kitchen',
        'echo installed-ok',
      ],
      { env, extendEnv: false, reject: false, stdin: 'ignore' },
    )
    expect(ssh.stderr).toBe('')
    expect(ssh.stdout).toBe('installed-ok')
  })
})
