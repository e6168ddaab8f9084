// Enrolment end to end on real instances (AWS's own amazon-ssm-agent 3.3.1142.0): a Pi fresh out of
// the box (sandbox --unenrolled) reached by plain ssh, `ssm-ssh enroll --ssh` makes the real agent
// register itself (RegisterManagedInstance, then RSA-signed RequestManagedInstanceRoleToken), the
// node comes Online under a new mi- id with its Name tag, and ssh by name through our ProxyCommand
// reaches it; a second enroll changes nothing; revoked credentials are rotated by the agent into
// /root/.aws/credentials; a copied /var/lib/amazon/ssm (a cloned SD card) is separated by reactivate.
import { createHash } from 'node:crypto'
import { execa } from 'execa'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { SimActivation } from '../../src/sandbox/model.ts'
import { cli, plainSshFlags, startWorld, type World } from '../helpers/e2e.ts'
import { describeReal } from '../helpers/real.ts'

const CLOUDWATCH_TOML = '/opt/aws/amazon-cloudwatch-agent/etc/common-config.toml'

const ACTIVATION: SimActivation = {
  activationId: '7c0d2f3e-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
  activationCode: 'Qx7pL2vN9rT4wY6zA1bC3dE5',
  defaultInstanceName: 'new-pis',
  iamRole: 'service-role/SSMServiceRole',
  registrationLimit: 5,
  registrationsCount: 0,
  expirationDate: new Date(Date.now() + 86_400_000),
  createdDate: new Date(),
  tags: new Map([['site', 'lab']]),
}

describeReal('enrolment of unenrolled real Pis (amazon-ssm-agent 3.3.1142.0)', () => {
  let w: World
  let firstId = ''
  let secondId = ''

  beforeAll(async () => {
    // role tokens of 20 s: the agent renews them at half their life, so rotations come within 10 s
    w = await startWorld({ unenrolled: 4, roleTokenTtlSeconds: 20 })
    w.box.state.activations.set(ACTIVATION.activationId, { ...ACTIVATION, tags: new Map(ACTIVATION.tags) })
  }, 90_000)
  afterAll(async () => {
    await w?.close()
  })

  const pi = (name: string) => {
    const p = w.box.unenrolled.get(name)
    if (!p) throw new Error(`no unenrolled ${name}`)
    return p
  }
  const activation = () => w.box.state.activations.get(ACTIVATION.activationId) as SimActivation
  const sshFlags = (name: string) => plainSshFlags(pi(name), w.key.path)
  const activationFlags = [
    '--activation-id',
    ACTIVATION.activationId,
    '--activation-code',
    ACTIVATION.activationCode,
  ]
  const cliRun = (args: string[], timeout = 120_000) =>
    execa(process.execPath, [cli, ...args], { env: w.env, extendEnv: false, reject: false, timeout })
  const inside = async (name: string, script: string) =>
    (await pi(name).instance.exec(['sh', '-c', script])).stdout
  const sharedKeyId = async (name: string) =>
    /aws_access_key_id\s*=\s*(\S+)/.exec(await inside(name, 'cat /root/.aws/credentials 2>/dev/null'))?.[1]
  const channelLog = async (...hosts: string[]) => {
    const lines = await Promise.all(
      hosts.map((h) =>
        inside(
          h,
          `grep -h 'controlchannel\\|control channel\\|retry limit\\|Stopping' /var/log/amazon/ssm/amazon-ssm-agent.log | tail -40 | sed 's/^/${h} /'`,
        ),
      ),
    )
    return lines.join('')
  }
  const until = async <T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + ms
    for (;;) {
      const value = await probe()
      if (value !== undefined) return value
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }

  it('is reachable by plain ssh only: no agent runs and it has no registration', async () => {
    const r = await execa(
      'ssh',
      [
        ...sshFlags('pi-new-1').slice(2),
        '-o',
        'BatchMode=yes',
        'pi@127.0.0.1',
        'hostname; pgrep -x amazon-ssm-agent || echo no-agent',
      ],
      { reject: false },
    )
    expect(r.stdout.trim().split('\n')).toEqual(['pi-new-1', 'no-agent'])
    expect(await inside('pi-new-1', 'ls /var/lib/amazon/ssm/Vault/Store 2>/dev/null || echo none')).toBe(
      'none\n',
    )
  })

  it('without --ssh prints the script, values quoted, for sudo sh on the Pi', async () => {
    const r = await cliRun(['enroll', ...activationFlags])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain(`ACTIVATION_ID='${ACTIVATION.activationId}'`)
    expect(r.stdout).toContain(`REGION='${w.box.region}'`)
    expect((await execa('sh', ['-n'], { input: r.stdout, reject: false })).exitCode).toBe(0)
    expect(activation().registrationsCount).toBe(0)
  })

  it('enroll --ssh makes it Online under a new mi- id within 20 s, registered by the real agent, named', async () => {
    const before = w.box.state.requests.length
    const started = Date.now()
    const r = await cliRun(['enroll', ...sshFlags('pi-new-1'), ...activationFlags, '--name', 'pi-lab-1'])
    const elapsed = Date.now() - started
    expect(r.stderr).toMatch(/enrolled pi-new-1 as mi-[0-9a-f]{17} \(pi-lab-1\), Online after/)
    expect(r.exitCode).toBe(0)
    firstId = r.stdout.trim()
    expect(firstId).toMatch(/^mi-[0-9a-f]{17}$/)
    process.stderr.write(`enroll --ssh: Online in ${elapsed} ms\n`)
    expect(elapsed).toBeLessThan(20_000)
    const node = w.box.state.instances.get(firstId)
    expect(node).toMatchObject({
      pingStatus: 'Online',
      kind: 'hybrid',
      ssmName: 'new-pis',
      activationId: ACTIVATION.activationId,
      computerName: 'pi-new-1',
    })
    expect(node?.tags.get('Name')).toBe('pi-lab-1')
    expect(node?.tags.get('site')).toBe('lab')
    expect(activation().registrationsCount).toBe(1)
    // the real agent registered (unsigned) and took its role's credentials (RSA-signed, accepted)
    const ops = w.box.state.requests.slice(before).map((q) => `${q.operation} ${q.status}`)
    expect(ops).toContain('RegisterManagedInstance 200')
    expect(ops).toContain('RequestManagedInstanceRoleToken 200')
    expect(ops.filter((o) => o.startsWith('RequestManagedInstanceRoleToken 4'))).toEqual([])
    // with the key pair in its own vault: the public half is what the service holds
    const vault = JSON.parse(
      await inside('pi-new-1', 'cat /var/lib/amazon/ssm/Vault/Store/RegistrationKey'),
    ) as {
      instanceID: string
    }
    expect(vault.instanceID).toBe(firstId)
    // and the credentials it shares in root's file are its own role session's
    const keyId = await until('shared credentials', 10_000, () => sharedKeyId('pi-new-1'))
    expect(w.box.state.credentials.get(keyId)?.principal).toMatchObject({
      kind: 'instance',
      instanceId: firstId,
    })
  })

  it('ssh by its name through our ProxyCommand reaches it', async () => {
    const r = await w.ssh('pi-lab-1', 'hostname', { extraArgs: ['-l', 'pi'] })
    expect(r.stderr).toBe('')
    expect(r.stdout.toString().trim()).toBe('pi-new-1')
  })

  it('a second enroll changes nothing', async () => {
    const before = w.box.state.requests.length
    const count = w.box.state.instances.size
    const r = await cliRun(['enroll', ...sshFlags('pi-new-1'), ...activationFlags, '--name', 'pi-lab-1'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout.trim()).toBe(firstId)
    expect(r.stderr).toMatch(/already enrolled as mi-[0-9a-f]{17} \(pi-lab-1\); nothing changed/)
    const ops = w.box.state.requests.slice(before).map((q) => q.operation)
    expect(ops).not.toContain('RegisterManagedInstance')
    expect(ops).not.toContain('AddTagsToResource')
    expect(w.box.state.instances.size).toBe(count)
    expect(activation().registrationsCount).toBe(1)
  })

  it('after the CloudWatch recipe, its common-config.toml names the file the agent rotates its credentials into', async () => {
    const r = await cliRun(['run', 'pi-lab-1', '--recipe', 'cloudwatch-agent'])
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0)
    const toml = await inside('pi-new-1', `cat ${CLOUDWATCH_TOML}`)
    expect(toml).toMatch(/^\[credentials\]$/m)
    expect(toml).toMatch(/^\s*shared_credential_file\s*=\s*"\/root\/\.aws\/credentials"$/m)
    expect(toml).toMatch(/^\s*shared_credential_profile\s*=\s*"default"$/m)
    // and that file's [default] profile is the agent's own role session, rotated by the agent
    expect(await inside('pi-new-1', 'cat /root/.aws/credentials')).toMatch(/^\[default\]$/m)
  })

  it('after the sandbox revokes its credentials, the agent rotates new ones into /root/.aws/credentials', async () => {
    const old = await until('shared credentials', 10_000, () => sharedKeyId('pi-new-1'))
    expect(w.box.revokeNodeCredentials(firstId)).toBeGreaterThan(0)
    expect(w.box.state.credentials.has(old)).toBe(false)
    const fresh = await until('a rotated key', 20_000, async () => {
      const k = await sharedKeyId('pi-new-1')
      return k && k !== old ? k : undefined
    })
    expect(w.box.state.credentials.get(fresh)?.principal.instanceId).toBe(firstId)
  })

  it('a clone (its /var/lib/amazon/ssm copied to another Pi) is separated by reactivate', async () => {
    // the SD card copied: the registration, key pair and fingerprint, onto pi-new-2, whose agent starts
    const archive = await inside('pi-new-1', 'tar -C /var/lib/amazon -cz ssm | base64 -w0')
    await pi('pi-new-2').instance.exec(
      ['sh', '-c', 'mkdir -p /var/lib/amazon && base64 -d | tar -C /var/lib/amazon -xz'],
      {
        input: archive,
      },
    )
    await pi('pi-new-2').instance.exec(['/etc/init.d/amazon-ssm-agent', 'start'])
    // both report under the first id: the clone's health pings name its own host
    await until('the clone reports under the first id', 30_000, async () =>
      w.box.state.instances.get(firstId)?.computerName === 'pi-new-2' ? true : undefined,
    )
    const r = await cliRun(
      [
        '-v',
        'reactivate',
        firstId,
        '--host',
        'pi-new-2',
        '--name',
        'pi-lab-2',
        '--settle',
        '40',
        ...activationFlags,
      ],
      180_000,
    )
    // on a failure, how the two agents took the shared channel from each other
    expect(r.stderr, await channelLog('pi-new-1', 'pi-new-2')).toMatch(
      /pi-new-2 is now mi-[0-9a-f]{17}; mi-[0-9a-f]{17} is still used by another machine: kept/,
    )
    expect(r.exitCode).toBe(0)
    const [oldLine, newLine, fate] = r.stdout.trim().split('\n')
    expect(oldLine).toBe(`old ${firstId}`)
    secondId = (newLine ?? '').replace(/^new /, '')
    expect(secondId).toMatch(/^mi-[0-9a-f]{17}$/)
    expect(secondId).not.toBe(firstId)
    expect(fate).toBe(`kept ${firstId}`)
    expect(activation().registrationsCount).toBe(2)
    expect(w.box.state.instances.get(secondId)?.tags.get('Name')).toBe('pi-lab-2')
    // each machine by its own id, through the ProxyCommand
    const one = await w.ssh(firstId, 'hostname', { extraArgs: ['-l', 'pi'] })
    const two = await w.ssh(secondId, 'hostname', { extraArgs: ['-l', 'pi'] })
    expect([one.stdout.toString().trim(), two.stdout.toString().trim()]).toEqual(['pi-new-1', 'pi-new-2'])
    expect(await inside('pi-new-2', 'cat /var/lib/amazon/ssm/Vault/Store/RegistrationKey')).toContain(
      secondId,
    )
    expect(await inside('pi-new-1', 'cat /var/lib/amazon/ssm/Vault/Store/RegistrationKey')).toContain(firstId)
  }, 240_000)

  it('reactivating a machine no other shares an id with retires its old id (DeregisterManagedInstance)', async () => {
    const r = await cliRun(['-v', 'reactivate', secondId, '--settle', '40', ...activationFlags], 180_000)
    expect(r.stderr, await channelLog('pi-new-1', 'pi-new-2')).toMatch(
      /pi-new-2 is now mi-[0-9a-f]{17}; mi-[0-9a-f]{17} is used by no machine: deregistered/,
    )
    expect(r.exitCode).toBe(0)
    const [oldLine, newLine, fate] = r.stdout.trim().split('\n')
    expect(oldLine).toBe(`old ${secondId}`)
    expect(fate).toBe(`deregistered ${secondId}`)
    const thirdId = (newLine ?? '').replace(/^new /, '')
    expect(w.box.state.instances.has(secondId)).toBe(false)
    expect(
      w.box.state.requests.some((q) => q.operation === 'DeregisterManagedInstance' && q.status === 200),
    ).toBe(true)
    const three = await w.ssh(thirdId, 'hostname', { extraArgs: ['-l', 'pi'] })
    expect(three.stdout.toString().trim()).toBe('pi-new-2')
    // the retired id's key pair is refused: its token requests fail as on AWS
    expect([...w.box.state.credentials.values()].some((c) => c.principal.instanceId === secondId)).toBe(false)
  }, 240_000)

  it('enroll on a copied card sees the id is another machine’s and registers it anew', async () => {
    const archive = await inside('pi-new-1', 'tar -C /var/lib/amazon -cz ssm | base64 -w0')
    await pi('pi-new-3').instance.exec(
      ['sh', '-c', 'mkdir -p /var/lib/amazon && base64 -d | tar -C /var/lib/amazon -xz'],
      {
        input: archive,
      },
    )
    const r = await cliRun(['enroll', ...sshFlags('pi-new-3'), ...activationFlags])
    // the name the id's last health report gave: one of the machines that used it, not this one
    expect(r.stderr).toContain(`${firstId} is pi-new-`)
    expect(r.stderr).toMatch(/is pi-new-[12]'s id \(a copied SD card\?\): registering pi-new-3 anew/)
    expect(r.exitCode).toBe(0)
    const thirdId = r.stdout.trim()
    expect(thirdId).toMatch(/^mi-[0-9a-f]{17}$/)
    expect(thirdId).not.toBe(firstId)
    expect(w.box.state.instances.get(thirdId)?.tags.get('Name')).toBe('pi-new-3')
    // the original keeps its id
    expect(await inside('pi-new-1', 'cat /var/lib/amazon/ssm/Vault/Store/RegistrationKey')).toContain(firstId)
    expect(await inside('pi-new-3', 'cat /var/lib/amazon/ssm/Vault/Store/RegistrationKey')).toContain(thirdId)
    await pi('pi-new-3').instance.exec(['/etc/init.d/amazon-ssm-agent', 'stop'])
  })

  it('installs a missing agent only from a package whose sha256 matches', async () => {
    // pi-new-3 without the agent: its binary is a bind mount over an empty, non-executable file
    const unmounted = await pi('pi-new-3').instance.exec(['umount', '-l', '/usr/bin/amazon-ssm-agent'])
    expect(unmounted.stderr).toBe('')
    expect(await inside('pi-new-3', 'command -v amazon-ssm-agent || echo missing')).toBe('missing\n')
    await pi('pi-new-3').instance.exec(['sh', '-c', 'printf "not a package" >/srv/agent.deb'])
    const actual = createHash('sha256').update('not a package').digest('hex')
    const before = w.box.state.requests.length
    const none = await cliRun(['enroll', ...sshFlags('pi-new-3'), ...activationFlags])
    expect(none.exitCode).toBe(1)
    expect(none.stderr).toContain('amazon-ssm-agent is not installed and no --package-url was given')
    const withPackage = (sha256: string) =>
      cliRun([
        'enroll',
        ...sshFlags('pi-new-3'),
        ...activationFlags,
        '--package-url',
        'file:///srv/agent.deb',
        '--package-sha256',
        sha256,
      ])
    const tampered = await withPackage('f'.repeat(64))
    expect(tampered.exitCode).toBe(1)
    expect(tampered.stderr).toContain(`the package's sha256 is ${actual}, not ${'f'.repeat(64)}`)
    // the checksum matches: dpkg is given it, and refuses what is not a package
    const garbage = await withPackage(actual)
    expect(garbage.exitCode).toBe(1)
    expect(garbage.stderr).toContain('dpkg -i could not install the package from file:///srv/agent.deb')
    expect(await inside('pi-new-3', 'command -v amazon-ssm-agent || echo missing')).toBe('missing\n')
    expect(w.box.state.requests.slice(before).map((q) => q.operation)).not.toContain(
      'RegisterManagedInstance',
    )
  })

  it('installs the agent from the package the sandbox serves, for the Pi’s arch, then enrols it', async () => {
    // a Pi without the agent: dpkg puts the package's binaries in place
    const binaries = [
      'amazon-ssm-agent',
      'ssm-agent-worker',
      'ssm-session-worker',
      'ssm-document-worker',
      'ssm-session-logger',
      'ssm-cli',
    ]
    await inside(
      'pi-new-4',
      binaries.map((b) => `umount -l /usr/bin/${b} 2>/dev/null; rm -f /usr/bin/${b}`).join('; '),
    )
    // what the Pi will download (the sandbox's package for this machine's arch), and its checksum
    const arch = (await execa('dpkg', ['--print-architecture'])).stdout.trim()
    const served = await fetch(`${w.box.endpoint}/packages/amazon-ssm-agent_${arch}.deb`)
    expect(served.status).toBe(200)
    const sha256 = createHash('sha256')
      .update(Buffer.from(await served.arrayBuffer()))
      .digest('hex')
    expect((await fetch(`${w.box.endpoint}/packages/amazon-ssm-agent_mips.deb`)).status).toBe(404)
    // inside the Pi the sandbox is https://127.0.0.1:443 (its CA in the system bundle); {arch} is the Pi's
    const r = await cliRun([
      'enroll',
      ...sshFlags('pi-new-4'),
      ...activationFlags,
      '--package-url',
      'https://127.0.0.1:443/packages/amazon-ssm-agent_{arch}.deb',
      '--package-sha256',
      sha256,
      '--name',
      'pi-lab-4',
    ])
    expect(r.exitCode, r.stderr).toBe(0)
    const id = r.stdout.trim()
    expect(w.box.state.instances.get(id)?.pingStatus).toBe('Online')
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${Field} format, not a template
    expect(await inside('pi-new-4', "dpkg-query -W -f '${Status} ${Version}' amazon-ssm-agent")).toBe(
      'install ok installed 3.3.1142.0-1',
    )
  }, 180_000)
})
