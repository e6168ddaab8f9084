// Pure rules of a lock kept in Parameter Store: a create-only parameter whose value names its holder
// and the end of its lease (aws/parameter-lock.ts does the calls).

/** The lock parameter's value: who holds it and until when (a lease; a crashed holder's expires). */
export interface LockValue {
  owner: string
  /** ISO 8601 */
  expires: string
}

export function formatLock(lock: LockValue): string {
  return JSON.stringify({ owner: lock.owner, expires: lock.expires })
}

/** A lock is stale when its lease has run out, or when its value is not one of ours. */
export function isLockStale(text: string, now: Date): boolean {
  try {
    const v = JSON.parse(text) as Partial<LockValue>
    if (typeof v.owner !== 'string' || typeof v.expires !== 'string') return true
    const expires = Date.parse(v.expires)
    return Number.isNaN(expires) || expires <= now.getTime()
  } catch {
    return true
  }
}

export function lockOwner(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockValue>
    return typeof v.owner === 'string' ? v.owner : undefined
  } catch {
    return undefined
  }
}

export interface VersionedValue {
  version: number
  value: string
}

/**
 * Taking over a stale lock: each taker overwrites it (PutParameter with Overwrite, which Parameter
 * Store applies one at a time, numbering versions) and then reads the history. The taker whose
 * version comes right after the stale one it saw wins; any other taker's write landed after the
 * winner's, so its predecessor is not the stale value and it loses. Comparing the value too, not
 * only the number, matters: the lock may have been released and created afresh between our read and
 * our write (a new parameter starts again at version 1), and that new holder's value differs.
 */
export function wonTakeover(history: VersionedValue[], stale: VersionedValue, mine: number): boolean {
  const before = history.find((h) => h.version === mine - 1)
  return before !== undefined && before.version === stale.version && before.value === stale.value
}
