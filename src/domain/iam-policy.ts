// The least-privilege IAM policy for people who use ssm-ssh, rendered from templates/iam-policy.json
// (the caller reads the file; this stays pure): sessions only through the SSH document (and the
// port-forwarding ones with --forward) and only to instances carrying every --tag, their own sessions
// only, the reads ls/pick/config need, and with --push-key what push-key sends. Output is stable:
// template order, tag keys sorted, values as given.
import { UsageError } from '../support/errors.ts'
import { validUser } from './push-key.ts'

export interface PolicyOptions {
  /** key → accepted values (one key's values are OR-ed, keys AND-ed) */
  tags: Map<string, string[]>
  forward: boolean
  pushKey: boolean
  /** --user: the only OS user EC2 Instance Connect may push a key for */
  user?: string
  /** '*' for any */
  region: string
  account: string
}

export const SSH_DOCUMENT = 'AWS-StartSSHSession'
export const FORWARD_DOCUMENTS = [
  'AWS-StartPortForwardingSession',
  'AWS-StartPortForwardingSessionToRemoteHost',
]

// IAM tag keys and values: letters, digits, spaces and _ . : / = + - @; nothing a policy would read
// as a wildcard (* ?) or a variable ($)
const TAG_KEY = /^[\p{L}\p{N} _.:/=+\-@]{1,128}$/u
const TAG_VALUE = /^[\p{L}\p{N} _.:/=+\-@]{0,256}$/u

/** --tag KEY=VALUE, added to `tags`. */
export function addTag(tags: Map<string, string[]>, text: string): void {
  const eq = text.indexOf('=')
  const key = eq < 0 ? text : text.slice(0, eq)
  const value = eq < 0 ? undefined : text.slice(eq + 1)
  if (value === undefined || !TAG_KEY.test(key) || !TAG_VALUE.test(value)) {
    throw new UsageError(`--tag ${text} is not KEY=VALUE with an IAM tag key and value`, {
      hint: 'e.g. --tag site=home (letters, digits, spaces and _ . : / = + - @; no * ? $)',
    })
  }
  const values = tags.get(key) ?? []
  if (!values.includes(value)) values.push(value)
  tags.set(key, values)
}

export function checkScope(region: string, account: string, user: string | undefined): void {
  if (region !== '*' && !/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region))
    throw new UsageError(`--region ${region} is not an AWS Region name`, {
      hint: 'e.g. --region eu-west-1, or leave it out for any',
    })
  if (account !== '*' && !/^\d{12}$/.test(account))
    throw new UsageError(`--account ${account} is not a 12-digit account id`, {
      hint: 'ssm-ssh whoami shows yours',
    })
  if (user !== undefined && !validUser(user))
    throw new UsageError(`--user ${user} is not a valid user name`, { hint: 'e.g. --user pi' })
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

function fill(value: Json, vars: Record<string, string>, documents: string[]): Json {
  if (typeof value === 'string') {
    if (value === '{{sessionDocuments}}') return documents
    return value.replace(/\{\{(region|account)\}\}/g, (_m, name: string) => vars[name] as string)
  }
  if (Array.isArray(value)) return value.map((v) => fill(v, vars, documents))
  if (value && typeof value === 'object') {
    const out: Record<string, Json> = {}
    for (const [k, v] of Object.entries(value)) if (!k.startsWith('_')) out[k] = fill(v, vars, documents)
    return out
  }
  return value
}

/** The policy as pretty JSON (two-space indent, final newline). */
export function renderPolicy(templateText: string, options: PolicyOptions): string {
  const template = JSON.parse(templateText) as { Statement: Array<Record<string, Json>> } & Record<
    string,
    Json
  >
  const vars = { region: options.region, account: options.account }
  const region = options.region
  const documents = [SSH_DOCUMENT, ...(options.forward ? FORWARD_DOCUMENTS : [])].map(
    // documents AWS owns have no account in their ARN
    (name) => `arn:aws:ssm:${region}::document/${name}`,
  )
  const keys = [...options.tags.keys()].sort()
  const statements = template.Statement.filter((s) => {
    const when = s._when
    return (
      when === undefined || (when === 'pushKey' && options.pushKey) || (when === 'forward' && options.forward)
    )
  }).map((s) => {
    const out = fill(s, vars, documents) as Record<string, Json>
    const equals: Record<string, Json> = {}
    if (typeof s._tagsUnder === 'string') {
      for (const key of keys) equals[`${s._tagsUnder}/${key}`] = options.tags.get(key) as string[]
    }
    if (s._osUser === true && options.user) equals['ec2:osuser'] = options.user
    if (Object.keys(equals).length > 0) {
      out.Condition = { ...((out.Condition as Record<string, Json> | undefined) ?? {}), StringEquals: equals }
    }
    return out
  })
  const policy = fill(template, vars, documents) as Record<string, Json>
  policy.Statement = statements
  return `${JSON.stringify(policy, null, 2)}\n`
}
