// The enrolment script (templates/enroll.sh) with its values filled in, each single-quoted, and the
// one line it answers with. Pure: the template's text in, the script out; the output in, a report out.
import { shellQuote } from './push-key.ts'

export interface Activation {
  id: string
  code: string
}

export interface EnrollValues {
  activation: Activation
  region: string
  /** where the agent's package is when it is missing; `{arch}` becomes arm64, arm or amd64 */
  packageUrl?: string
  /** the package's sha256 (hex), checked before it is installed */
  packageSha256?: string
  /** enroll: stop, clear, register, start; reactivate: register under the running agent, restart later */
  mode: 'enroll' | 'reactivate'
  /** re-register an enrolled Pi */
  force?: boolean
  /** reactivate: only on the machine of this host name (the others answer `elsewhere`) */
  expectHost?: string
}

export type EnrollReport =
  | { kind: 'registered'; id: string; previous?: string; host: string }
  | { kind: 'already'; id: string; host: string }
  | { kind: 'elsewhere'; host: string }
  | { kind: 'failed'; reason: string }

const ACTIVATION_ID = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/
const MANAGED_ID = /^mi-[0-9a-f]{17}$/

/** Why a value cannot go into the script, or undefined when all can. */
export function enrollValuesProblem(v: EnrollValues): string | undefined {
  if (!ACTIVATION_ID.test(v.activation.id))
    return `activation id "${v.activation.id}" is not a lower-case UUID`
  // CreateActivation's codes are 20–250 characters of base64 (letters, digits, + and /)
  if (!/^[A-Za-z0-9+/=]{20,250}$/.test(v.activation.code))
    return 'the activation code is not 20–250 base64 characters'
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(v.region)) return `region "${v.region}" is not a region name`
  if (v.packageUrl !== undefined && !/^(https?|file):\/\/[^\s'"\\`$]+$/.test(v.packageUrl))
    return `package URL "${v.packageUrl}" is not an https://, http:// or file:// URL`
  if (v.packageSha256 !== undefined && !/^[0-9a-f]{64}$/.test(v.packageSha256))
    return 'the package sha256 must be 64 lower-case hex digits'
  if (v.expectHost !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(v.expectHost))
    return `"${v.expectHost}" is not a host name`
  return undefined
}

/** The script with every value in place; throws when one does not fit (enrollValuesProblem). */
export function renderEnrollScript(template: string, v: EnrollValues): string {
  const problem = enrollValuesProblem(v)
  if (problem) throw new Error(problem)
  const values: Record<string, string> = {
    __ACTIVATION_ID__: v.activation.id,
    __ACTIVATION_CODE__: v.activation.code,
    __REGION__: v.region,
    __PACKAGE_URL__: v.packageUrl ?? '',
    __PACKAGE_SHA256__: v.packageSha256 ?? '',
    __MODE__: v.mode,
    __FORCE__: v.force ? 'yes' : 'no',
    __EXPECT_HOST__: v.expectHost ?? '',
  }
  let script = template
  for (const [placeholder, value] of Object.entries(values)) {
    if (!script.includes(placeholder)) throw new Error(`the enroll template lacks ${placeholder}`)
    script = script.replace(placeholder, () => shellQuote(value))
  }
  return script
}

/** The script's last SSM_SSH_ENROLL line; a reply without one is a failure that quotes the output. */
export function parseEnrollReport(output: string): EnrollReport {
  const lines = output.split('\n').filter((l) => l.startsWith('SSM_SSH_ENROLL '))
  const line = lines.at(-1)
  if (line === undefined) {
    const tail = output.trim().split('\n').slice(-3).join(' / ')
    return {
      kind: 'failed',
      reason: tail ? `no report from the script: ${tail}` : 'no report from the script',
    }
  }
  const [, kind = '', ...rest] = line.split(' ')
  if (kind === 'failed') return { kind, reason: rest.join(' ') }
  const fields = Object.fromEntries(
    rest.map((word) => {
      const at = word.indexOf('=')
      return at < 0 ? [word, ''] : [word.slice(0, at), word.slice(at + 1)]
    }),
  ) as Record<string, string | undefined>
  const host = fields.host ?? ''
  const id = fields.id ?? ''
  if (kind === 'elsewhere') return { kind, host }
  if ((kind === 'registered' || kind === 'already') && MANAGED_ID.test(id)) {
    if (kind === 'already') return { kind, id, host }
    const previous = fields.previous
    return { kind, id, host, ...(previous && MANAGED_ID.test(previous) ? { previous } : {}) }
  }
  return { kind: 'failed', reason: `unexpected report: ${line.slice(0, 200)}` }
}
