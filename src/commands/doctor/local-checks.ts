// doctor's checks of this machine: who calls AWS and how (credentials, region, endpoint, proxy), the
// clock against the service's, OpenSSH, our Include in ~/.ssh/config, and the plugin when the
// stanzas use it.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AwsClients } from '../../aws/clients.ts'
import type { CallerIdentity } from '../../aws/sts.ts'
import type { Context } from '../../cli/command.ts'
import { type Finding, fail, ok, warn } from '../../domain/doctor/finding.ts'
import { CliError } from '../../support/errors.ts'

/** SigV4 refuses a request signed more than 5 minutes off the service's clock. */
const SKEW_FAIL_S = 240
const SKEW_WARN_S = 30
/** OpenSSH before 7.3 has no Include; before 8.4 no %k-less ProxyCommand niceties we rely on. */
const MIN_OPENSSH = [7, 3] as const

export async function callerFindings(
  ctx: Context,
  clients: AwsClients,
): Promise<{ findings: Finding[]; caller?: CallerIdentity }> {
  const { environmentCredentials } = await import('../../aws/clients.ts')
  const { callerIdentity, stsEndpoint } = await import('../../aws/sts.ts')
  const { credentialSource } = await import('../whoami.ts')
  const { proxyFor } = await import('../../support/proxy-agent.ts')
  const findings: Finding[] = []
  let caller: CallerIdentity | undefined
  try {
    const credentials = await clients.credentials()
    const source = credentialSource(ctx, credentials, environmentCredentials(ctx.env) !== undefined)
    caller = await callerIdentity(clients, ctx.env)
    findings.push(ok('caller', `${caller.arn} (credentials from ${source})`))
  } catch (error) {
    const e = error instanceof CliError ? error : new CliError(String(error))
    findings.push(fail('caller', e.message, e.hint ?? 'ssm-ssh whoami'))
    return { findings }
  }
  const region = await clients.region()
  const ssm = await clients.ssmUrl()
  const proxy = await proxyFor(ssm)
  const sts = await stsEndpoint(clients, region, ctx.env)
  findings.push(
    ok('endpoint', `region ${region}, SSM ${ssm}, STS ${sts}, ${proxy ? `proxy ${proxy}` : 'no proxy'}`),
  )
  return { findings, caller }
}

export function clockFinding(serviceDate: Date | undefined, localAtReply: Date): Finding {
  if (!serviceDate) return warn('clock', 'the service sent no Date header to compare with', '')
  const skew = Math.round((localAtReply.getTime() - serviceDate.getTime()) / 1000)
  const text = `this machine's clock is ${Math.abs(skew)} s ${skew >= 0 ? 'ahead of' : 'behind'} the service's`
  if (Math.abs(skew) >= SKEW_FAIL_S)
    return fail(
      'clock',
      `${text}: AWS refuses signatures 5 minutes off`,
      'sync the clock: sudo timedatectl set-ntp true',
    )
  if (Math.abs(skew) >= SKEW_WARN_S)
    return warn('clock', text, 'sync the clock: sudo timedatectl set-ntp true')
  return ok('clock', `within ${SKEW_WARN_S} s of the service's (${skew} s)`)
}

export async function sshFindings(ctx: Context): Promise<Finding[]> {
  const { execa } = await import('execa')
  const findings: Finding[] = []
  const v = await execa('ssh', ['-V'], { env: ctx.env, reject: false, timeout: 5000 })
  const text = `${v.stderr}${v.stdout}`.trim()
  const m = /OpenSSH_(\d+)\.(\d+)/.exec(text)
  if (!m)
    findings.push(
      fail(
        'openssh',
        'ssh is not installed (or says no version)',
        'install OpenSSH: sudo apt install openssh-client',
      ),
    )
  else {
    const [major, minor] = [Number(m[1]), Number(m[2])]
    const old = major < MIN_OPENSSH[0] || (major === MIN_OPENSSH[0] && minor < MIN_OPENSSH[1])
    findings.push(
      old
        ? fail('openssh', `OpenSSH ${major}.${minor} has no Include (7.3 and later do)`, 'update OpenSSH')
        : ok('openssh', `OpenSSH ${major}.${minor}`),
    )
  }
  const { readText } = await import('../../ssh/config-files.ts')
  const { hasInclude } = await import('../../domain/ssh-config/include.ts')
  const ourFile = join(ctx.paths.sshDir, 'ssm-ssh', 'config')
  const user = (await readText(join(ctx.paths.sshDir, 'config'))) ?? ''
  const ours = await readText(ourFile)
  if (ours === undefined)
    findings.push(
      warn(
        'ssh config',
        'no ssm-ssh stanzas yet: ssh <name> does not go through Session Manager',
        'ssm-ssh config',
      ),
    )
  else if (!hasInclude(user, ourFile))
    findings.push(fail('ssh config', `~/.ssh/config does not Include ${ourFile}`, 'ssm-ssh config'))
  else findings.push(ok('ssh config', `~/.ssh/config includes ${ourFile}`))
  if (ours?.includes('--transport plugin')) {
    const { stanzaPluginPath } = await import('../../domain/ssh-config/stanzas.ts')
    findings.push(await pluginFinding(ctx, stanzaPluginPath(ours)))
  }
  return findings
}

async function pluginFinding(ctx: Context, named: string | undefined): Promise<Finding> {
  const { findPlugin } = await import('../../transport/plugin.ts')
  const { execa } = await import('execa')
  try {
    const plugin = await findPlugin(ctx.env, named)
    const r = await execa(plugin, ['--version'], { env: ctx.env, reject: false, timeout: 5000 })
    const version = /\d+(\.\d+)+/.exec(`${r.stdout}`)?.[0]
    return version
      ? ok('plugin', `session-manager-plugin ${version} (the stanzas use --transport plugin)`)
      : warn('plugin', 'session-manager-plugin says no version', 'reinstall session-manager-plugin')
  } catch (error) {
    const e = error as CliError
    return fail('plugin', `the stanzas use --transport plugin, but ${e.message}`, e.hint ?? '')
  }
}

/** Read a file we may not have (the pinned host keys). */
export async function readOptional(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '')
}
