// A lock in Parameter Store, so that of several runs on several machines only one does a thing at a
// time (activation ensure: create one activation between ten enrolments). The lock is a create-only
// parameter (PutParameter without Overwrite: exactly one creator succeeds, the others get
// ParameterAlreadyExists) whose value names the holder and the end of its lease; it is released by
// deleting it. A holder that crashed leaves a lock whose lease runs out: the next run takes it over.
//
// The take-over race. Two runs that both saw the stale lock must not both proceed. Deleting it and
// creating it afresh does not settle that: A deletes and creates, then B — still acting on the stale
// value it read — deletes A's new lock and creates its own, and both hold "the" lock. Instead each
// taker overwrites the lock (Parameter Store numbers the writes of one name one at a time) and reads
// the version history: only the taker whose version directly follows the stale version it saw, with
// the stale value, has won (domain/parameter-lock.ts wonTakeover); the others wait as for any held
// lock. A loser's write does sit on top of the winner's — harmless: it only makes the lock look
// fresh to others, and the winner deletes it when done (see releaseParameterLock).
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm'
import {
  formatLock,
  isLockStale,
  lockOwner,
  type VersionedValue,
  wonTakeover,
} from '../domain/parameter-lock.ts'
import { CliError } from '../support/errors.ts'
import { translateAwsError } from './errors.ts'
import { callAws, errorCode } from './sdk-call.ts'

export interface LockOptions {
  now: () => Date
  /** the lease: how long a holder may keep the lock before others may take it over */
  ttlMs: number
  /** how long to wait for another holder before giving up */
  waitMs: number
  onStep: (text: string) => void
  /** what the lock protects, for messages ("the activation") */
  what: string
}

export interface HeldLock {
  name: string
  value: string
  version: number
  /** end of our lease, epoch ms */
  expires: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

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

/** Takes the lock NAME for OWNER (unique per run), waiting for a live holder, taking over a stale one. */
export async function acquireParameterLock(
  ssm: SSMClient,
  name: string,
  owner: string,
  options: LockOptions,
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
      if (errorCode(error) !== 'ParameterAlreadyExists')
        throw translateAwsError(error, { operation: `PutParameter ${name}` })
    }
    let seen: VersionedValue | undefined
    try {
      const out = await ssm.send(new GetParameterCommand({ Name: name }))
      seen = { version: out.Parameter?.Version ?? 0, value: out.Parameter?.Value ?? '' }
    } catch (error) {
      if (errorCode(error) !== 'ParameterNotFound')
        throw translateAwsError(error, { operation: `GetParameter ${name}` })
      continue // released between our create and our read: try again at once
    }
    if (isLockStale(seen.value, options.now())) {
      const out = await callAws(`PutParameter ${name}`, () =>
        ssm.send(new PutParameterCommand({ Name: name, Value: value, Overwrite: true })),
      )
      const mine = out.Version ?? 0
      const versions = await callAws(`GetParameterHistory ${name}`, () => history(ssm, name))
      if (wonTakeover(versions, seen, mine)) {
        options.onStep(`took over a stale lock of ${lockOwner(seen.value) ?? 'unknown owner'}`)
        return { name, value, version: mine, expires }
      }
    } else if (!said) {
      said = true
      options.onStep(`waiting for ${lockOwner(seen.value) ?? 'another run'} to finish with ${options.what}`)
    }
    if (Date.now() > deadline)
      throw new CliError(
        `timed out waiting for the lock ${name} on ${options.what} (held by ${lockOwner(seen.value) ?? 'unknown'})`,
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
export async function releaseParameterLock(ssm: SSMClient, lock: HeldLock, now: Date): Promise<void> {
  try {
    if (now.getTime() >= lock.expires) {
      const out = await ssm.send(new GetParameterCommand({ Name: lock.name }))
      if (out.Parameter?.Value !== lock.value) return
    }
    await ssm.send(new DeleteParameterCommand({ Name: lock.name }))
  } catch (error) {
    if (errorCode(error) === 'ParameterNotFound') return
    throw translateAwsError(error, { operation: `DeleteParameter ${lock.name}` })
  }
}
