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
  GetParameterHistoryCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm'
import {
  DEFAULT_ACTIVATION_PARAMETER,
  formatLock,
  formatStoredActivation,
  isLockStale,
  judgeActivation,
  type ListedActivation,
  lockOwner,
  parseStoredActivation,
  type StoredActivation,
  type Verdict,
  type VersionedValue,
  wonTakeover,
} from '../domain/activation.ts'
import { CliError } from '../support/errors.ts'
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'

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
  now?: () => Date
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

/** The SDK error's code, here at the adapter edge (commands never look at SDK names). */
function codeOf(error: unknown): string {
  return (error as { name?: string })?.name ?? ''
}

async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    throw translateAwsError(error, { operation })
  }
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
    if (codeOf(error) === 'ParameterNotFound') return {}
    throw translateAwsError(error, { operation: `GetParameter ${name}` })
  }
}

async function describeOne(ssm: SSMClient, id: string): Promise<ListedActivation | undefined> {
  const out = await call('DescribeActivations', () =>
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface HeldLock {
  name: string
  value: string
  version: number
  expires: number
}

async function history(ssm: SSMClient, name: string): Promise<VersionedValue[]> {
  const out: VersionedValue[] = []
  let NextToken: string | undefined
  do {
    const page = await ssm.send(new GetParameterHistoryCommand({ Name: name, MaxResults: 50, NextToken }))
    for (const p of page.Parameters ?? []) out.push({ version: p.Version ?? 0, value: p.Value ?? '' })
    NextToken = page.NextToken
  } while (NextToken)
  return out
}

/**
 * Takes the lock: create-only PutParameter (no Overwrite), so of several runs exactly one creates
 * it and the rest get ParameterAlreadyExists and wait. A lock whose lease ran out (its holder
 * crashed) is taken over by overwriting it; wonTakeover (domain/activation.ts) settles a race
 * between several takers from the version history, so only one of them proceeds.
 */
async function acquireLock(
  ssm: SSMClient,
  name: string,
  owner: string,
  options: { now: () => Date; ttlMs: number; waitMs: number; onStep: (t: string) => void },
): Promise<HeldLock> {
  const deadline = Date.now() + options.waitMs
  let said = false
  for (;;) {
    const expires = options.now().getTime() + options.ttlMs
    const value = formatLock({ owner, expires: new Date(expires).toISOString() })
    try {
      const out = await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String' }))
      return { name, value, version: out.Version ?? 1, expires }
    } catch (error) {
      if (codeOf(error) !== 'ParameterAlreadyExists')
        throw translateAwsError(error, { operation: `PutParameter ${name}` })
    }
    let seen: VersionedValue | undefined
    try {
      const out = await ssm.send(new GetParameterCommand({ Name: name }))
      seen = { version: out.Parameter?.Version ?? 0, value: out.Parameter?.Value ?? '' }
    } catch (error) {
      if (codeOf(error) !== 'ParameterNotFound')
        throw translateAwsError(error, { operation: `GetParameter ${name}` })
      continue // released between our create and our read: try again at once
    }
    if (isLockStale(seen.value, options.now())) {
      const out = await call(`PutParameter ${name}`, () =>
        ssm.send(new PutParameterCommand({ Name: name, Value: value, Overwrite: true })),
      )
      const mine = out.Version ?? 0
      const versions = await call(`GetParameterHistory ${name}`, () => history(ssm, name))
      if (wonTakeover(versions, seen, mine)) {
        options.onStep(`took over a stale lock of ${lockOwner(seen.value) ?? 'unknown owner'}`)
        return { name, value, version: mine, expires }
      }
    } else if (!said) {
      said = true
      options.onStep(`waiting for ${lockOwner(seen.value) ?? 'another run'} to finish with the activation`)
    }
    if (Date.now() > deadline)
      throw new CliError(
        `timed out waiting for the activation lock ${name} (held by ${lockOwner(seen.value) ?? 'unknown'})`,
        {
          hint: `if no other ssm-ssh is running, the lock expires by itself within a minute; or delete the parameter ${name}`,
        },
      )
    await sleep(150 + Math.floor(Math.random() * 250))
  }
}

/**
 * Gives the lock back by deleting it. While our lease runs nobody can have taken it over, so
 * versions written after ours are losers of a take-over race and the lock is still ours to delete;
 * once our lease has run out we delete only if the value is still our own.
 */
async function releaseLock(ssm: SSMClient, lock: HeldLock, now: Date): Promise<void> {
  try {
    if (now.getTime() >= lock.expires) {
      const out = await ssm.send(new GetParameterCommand({ Name: lock.name }))
      if (out.Parameter?.Value !== lock.value) return
    }
    await ssm.send(new DeleteParameterCommand({ Name: lock.name }))
  } catch (error) {
    if (codeOf(error) === 'ParameterNotFound') return
    throw translateAwsError(error, { operation: `DeleteParameter ${lock.name}` })
  }
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
  const now = options.now ?? (() => new Date())
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
  const lock = await acquireLock(ssm, `${name}.lock`, owner, {
    now,
    ttlMs: options.lockTtlMs ?? 60_000,
    waitMs: options.waitMs ?? 120_000,
    onStep,
  })
  try {
    // another run may have replaced it while we waited for the lock
    const again = await judgeStored(ssm, name, rules())
    if (again.verdict.valid && again.stored) return reuse(again.stored)
    const days = options.days ?? DEFAULT_DAYS
    const expirationDate = new Date(now().getTime() + days * DAY_MS - CLOCK_SLACK_MS)
    const tags = Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value }))
    const made = await call('CreateActivation', () =>
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
    const created: StoredActivation = {
      id: made.ActivationId ?? '',
      code: made.ActivationCode ?? '',
      expires: expirationDate.toISOString(),
    }
    await call(`PutParameter ${name}`, () =>
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
    await releaseLock(ssm, lock, now())
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
    const page = await call('DescribeActivations', () =>
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
    const code = codeOf(error)
    if (code === 'InvalidActivationId' || code === 'InvalidActivation' || code === 'ValidationException')
      throw new CliError(`no activation ${id} in this account and region`, {
        hint: 'ssm-ssh activation ls lists them',
        cause: error,
      })
    throw translateAwsError(error, { operation: 'DeleteActivation' })
  }
  const { stored } = await readStored(ssm, parameterName)
  if (stored?.id !== id) return { clearedStored: false }
  await call(`DeleteParameter ${parameterName}`, () =>
    ssm.send(new DeleteParameterCommand({ Name: parameterName })),
  )
  return { clearedStored: true }
}
