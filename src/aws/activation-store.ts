// The hybrid activation Pis register with, kept valid in Parameter Store: reused while it can still
// register a Pi, replaced (CreateActivation) when it was deleted, expired or is full. Concurrent runs
// (ten enrolments at once) create one activation between them: a lock parameter serialises the
// replacement and every run re-reads the stored activation once it holds the lock.
//
// The activation code is a secret ("like a password"): it is stored as a SecureString, returned to
// the caller, and never logged or put in an error message.

import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import {
  CreateActivationCommand,
  DeleteActivationCommand,
  DeleteParameterCommand,
  DescribeActivationsCommand,
  GetParameterCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm'
import {
  DEFAULT_ACTIVATION_PARAMETER,
  formatStoredActivation,
  judgeActivation,
  type ListedActivation,
  parseStoredActivation,
  type StoredActivation,
  type Verdict,
} from '../domain/activation.ts'
import { CliError } from '../support/errors.ts'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'
import { acquireParameterLock, releaseParameterLock } from './parameter-lock.ts'
import { callAws, errorCode } from './sdk-call.ts'

export const DEFAULT_PARAMETER = DEFAULT_ACTIVATION_PARAMETER
export const DEFAULT_LIMIT = 10
export const DEFAULT_DAYS = 30
const DAY_MS = 24 * 3600 * 1000
/** CreateActivation refuses a date past 30 days from *its* clock: ask for a little less. */
const CLOCK_SLACK_MS = 5 * 60 * 1000

export interface EnsureOptions {
  /** the IAM service role registered Pis assume (CreateActivation IamRole) */
  role: string
  /** registrations per activation (1–1000) */
  limit?: number
  /** lifetime of a new activation in days (1–30) */
  days?: number
  tags?: Record<string, string>
  /** DefaultInstanceName of a new activation */
  namePrefix?: string
  /** where the activation is stored (SecureString); the lock is this name + ".lock" */
  parameterName?: string
  /** the clock (a fixed Date is taken as the time at the start) */
  now?: (() => Date) | Date
  /** names this run in the lock (host:pid by default; a random suffix is always added) */
  owner?: string
  /** how long the lock is held at most before others may take it over (default 60 s) */
  lockTtlMs?: number
  /** how long to wait for another run's lock (default 120 s) */
  waitMs?: number
  /** progress, never with the code */
  onStep?: (text: string) => void
}

export interface EnsuredActivation {
  activationId: string
  activationCode: string
  expirationDate: Date
  created: boolean
  /** the stored activation this one replaced */
  replaced?: string
  /** why it was replaced */
  reason?: string
}

async function readStored(
  ssm: SSMClient,
  name: string,
): Promise<{ text?: string; stored?: StoredActivation }> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))
    const text = out.Parameter?.Value
    const stored = parseStoredActivation(text)
    return { ...(text !== undefined ? { text } : {}), ...(stored ? { stored } : {}) }
  } catch (error) {
    if (errorCode(error) === 'ParameterNotFound') return {}
    throw translateAwsError(error, { operation: `GetParameter ${name}` })
  }
}

async function describeOne(ssm: SSMClient, id: string): Promise<ListedActivation | undefined> {
  const out = await callAws('DescribeActivations', () =>
    ssm.send(
      new DescribeActivationsCommand({ Filters: [{ FilterKey: 'ActivationIds', FilterValues: [id] }] }),
    ),
  )
  const a = out.ActivationList?.find((x) => x.ActivationId === id)
  return a ? toListed(a) : undefined
}

function toListed(a: {
  ActivationId?: string
  IamRole?: string
  RegistrationLimit?: number
  RegistrationsCount?: number
  ExpirationDate?: Date
  Expired?: boolean
}): ListedActivation {
  return {
    activationId: a.ActivationId ?? '',
    iamRole: a.IamRole ?? '',
    registrationLimit: a.RegistrationLimit ?? 1,
    registrationsCount: a.RegistrationsCount ?? 0,
    expirationDate: a.ExpirationDate ?? new Date(0),
    expired: a.Expired ?? false,
  }
}

async function judgeStored(
  ssm: SSMClient,
  name: string,
  rules: { now: Date; role: string },
): Promise<{ stored?: StoredActivation; verdict: Verdict }> {
  const { text, stored } = await readStored(ssm, name)
  if (text !== undefined && !stored) return { verdict: { valid: false, reason: 'unreadable' } }
  const listed = stored ? await describeOne(ssm, stored.id) : undefined
  return { ...(stored ? { stored } : {}), verdict: judgeActivation(stored, listed, rules) }
}

/** What ensure would do now (--dry-run): the stored activation's id and whether it is still valid. */
export async function inspectActivation(
  clients: AwsClients,
  options: { role: string; parameterName?: string; now?: Date },
): Promise<{ storedId?: string; verdict: Verdict }> {
  const ssm = await clients.ssm()
  const { stored, verdict } = await judgeStored(ssm, options.parameterName ?? DEFAULT_PARAMETER, {
    now: options.now ?? new Date(),
    role: options.role,
  })
  return { ...(stored ? { storedId: stored.id } : {}), verdict }
}

/**
 * The activation a Pi can register with now: the stored one while it is valid, else a new one
 * (stored before the lock is released). Returns the code: callers must not log it.
 */
export async function ensureActivation(
  clients: AwsClients,
  options: EnsureOptions,
): Promise<EnsuredActivation> {
  const ssm = await clients.ssm()
  const given = options.now
  const now =
    given instanceof Date
      ? (
          (start: number) => () =>
            new Date(given.getTime() + Date.now() - start)
        )(Date.now())
      : (given ?? (() => new Date()))
  const name = options.parameterName ?? DEFAULT_PARAMETER
  const onStep = options.onStep ?? (() => {})
  const rules = () => ({ now: now(), role: options.role })
  const reuse = (stored: StoredActivation): EnsuredActivation => ({
    activationId: stored.id,
    activationCode: stored.code,
    expirationDate: new Date(stored.expires),
    created: false,
  })

  const first = await judgeStored(ssm, name, rules())
  if (first.verdict.valid && first.stored) return reuse(first.stored)

  const owner = `${options.owner ?? `${hostname()}:${process.pid}`}:${randomUUID().slice(0, 8)}`
  const lock = await acquireParameterLock(ssm, `${name}.lock`, owner, {
    now,
    ttlMs: options.lockTtlMs ?? 60_000,
    waitMs: options.waitMs ?? 120_000,
    onStep,
    what: 'the activation',
  })
  try {
    // another run may have replaced it while we waited for the lock
    const again = await judgeStored(ssm, name, rules())
    if (again.verdict.valid && again.stored) return reuse(again.stored)
    const days = options.days ?? DEFAULT_DAYS
    const expirationDate = new Date(now().getTime() + days * DAY_MS - CLOCK_SLACK_MS)
    const tags = Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value }))
    const made = await callAws('CreateActivation', () =>
      ssm.send(
        new CreateActivationCommand({
          IamRole: options.role,
          RegistrationLimit: options.limit ?? DEFAULT_LIMIT,
          ExpirationDate: expirationDate,
          ...(options.namePrefix ? { DefaultInstanceName: options.namePrefix } : {}),
          Description: 'ssm-ssh activation ensure',
          ...(tags.length > 0 ? { Tags: tags } : {}),
        }),
      ),
    )
    // what the service answered is untrusted: store and print only an id and code of the right shape
    const created = parseStoredActivation(
      JSON.stringify({
        id: made.ActivationId,
        code: made.ActivationCode,
        expires: expirationDate.toISOString(),
      }),
    )
    if (!created)
      throw new CliError('CreateActivation answered without a well-formed activation id and code', {
        hint: 'check the endpoint (--endpoint-url, AWS_ENDPOINT_URL) is Systems Manager',
      })
    await callAws(`PutParameter ${name}`, () =>
      ssm.send(
        new PutParameterCommand({
          Name: name,
          Value: formatStoredActivation(created),
          Type: 'SecureString',
          Overwrite: true,
          Description: 'the hybrid activation ssm-ssh enrolls Pis with (id, code, expiry)',
        }),
      ),
    )
    const reason = again.verdict.valid ? undefined : again.verdict.reason
    return {
      ...reuse(created),
      created: true,
      ...(again.stored ? { replaced: again.stored.id } : {}),
      ...(reason ? { reason } : {}),
    }
  } finally {
    await releaseParameterLock(ssm, lock, now())
  }
}

export interface ActivationRow extends ListedActivation {
  defaultInstanceName?: string
  description?: string
  createdDate?: Date
  /** the one `activation ensure` stored */
  current: boolean
}

/** Every activation of the account and region (all pages), marking the stored one. */
export async function listActivations(
  clients: AwsClients,
  parameterName = DEFAULT_PARAMETER,
): Promise<ActivationRow[]> {
  const ssm = await clients.ssm()
  const { stored } = await readStored(ssm, parameterName)
  const rows: ActivationRow[] = []
  let NextToken: string | undefined
  do {
    const page = await callAws('DescribeActivations', () =>
      ssm.send(new DescribeActivationsCommand({ MaxResults: 50, NextToken })),
    )
    for (const a of page.ActivationList ?? [])
      rows.push({
        ...toListed(a),
        ...(a.DefaultInstanceName ? { defaultInstanceName: a.DefaultInstanceName } : {}),
        ...(a.Description ? { description: a.Description } : {}),
        ...(a.CreatedDate ? { createdDate: a.CreatedDate } : {}),
        current: a.ActivationId === stored?.id,
      })
    NextToken = page.NextToken
  } while (NextToken)
  return rows
}

/** DeleteActivation; the stored pointer goes too when it named this activation. */
export async function removeActivation(
  clients: AwsClients,
  id: string,
  parameterName = DEFAULT_PARAMETER,
): Promise<{ clearedStored: boolean }> {
  const ssm = await clients.ssm()
  try {
    await ssm.send(new DeleteActivationCommand({ ActivationId: id }))
  } catch (error) {
    const code = errorCode(error)
    if (code === 'InvalidActivationId' || code === 'InvalidActivation' || code === 'ValidationException')
      throw new CliError(`no activation ${id} in this account and region`, {
        hint: 'ssm-ssh activation ls lists them',
        cause: error,
      })
    throw translateAwsError(error, { operation: 'DeleteActivation' })
  }
  const { stored } = await readStored(ssm, parameterName)
  if (stored?.id !== id) return { clearedStored: false }
  await callAws(`DeleteParameter ${parameterName}`, () =>
    ssm.send(new DeleteParameterCommand({ Name: parameterName })),
  )
  return { clearedStored: true }
}
