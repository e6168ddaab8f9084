// Pure rules of `activation ensure`: when the stored hybrid activation can still register a Pi.
// (The lock that makes concurrent runs create only one is domain/parameter-lock.ts.)

/**
 * Where ensure keeps the activation (the lock is this name + ".lock"). Not under /ssm-ssh/…:
 * Parameter Store refuses names whose first level starts with "aws" or "ssm".
 */
export const DEFAULT_ACTIVATION_PARAMETER = '/hybrid/ssm-ssh/activation'

/** What ensure keeps in Parameter Store (a SecureString): the activation a Pi registers with. */
export interface StoredActivation {
  id: string
  code: string
  /** ISO 8601 */
  expires: string
}

/** The activation as DescribeActivations lists it (the code is never listed). */
export interface ListedActivation {
  activationId: string
  iamRole: string
  registrationLimit: number
  registrationsCount: number
  expirationDate: Date
  expired: boolean
}

export type Verdict =
  | { valid: true }
  | {
      valid: false
      reason: 'none' | 'unreadable' | 'deleted' | 'expired' | 'expiring' | 'full' | 'other-role'
    }

/**
 * An activation about to expire is replaced before it does: a Pi that fetches the code now may take
 * minutes to download and install the agent before it registers.
 */
export const EXPIRY_MARGIN_MS = 60 * 60 * 1000

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The stored value, or undefined when it is not one we wrote (someone edited it, or garbage). */
export function parseStoredActivation(text: string | undefined): StoredActivation | undefined {
  if (!text) return undefined
  try {
    const v = JSON.parse(text) as Partial<StoredActivation>
    if (typeof v.id !== 'string' || !UUID.test(v.id)) return undefined
    if (typeof v.code !== 'string' || !/^[\x21-\x7e]{1,250}$/.test(v.code)) return undefined
    if (typeof v.expires !== 'string' || Number.isNaN(Date.parse(v.expires))) return undefined
    return { id: v.id, code: v.code, expires: v.expires }
  } catch {
    return undefined
  }
}

export function formatStoredActivation(a: StoredActivation): string {
  return JSON.stringify({ id: a.id, code: a.code, expires: a.expires })
}

/**
 * Whether the stored activation can still register one more Pi: listed (not deleted), for the role
 * asked for, not expired nor within the margin of its expiry, and under its registration limit.
 */
export function judgeActivation(
  stored: StoredActivation | undefined,
  listed: ListedActivation | undefined,
  rules: { now: Date; role: string; marginMs?: number },
): Verdict {
  if (!stored) return { valid: false, reason: 'none' }
  if (!listed || listed.activationId !== stored.id) return { valid: false, reason: 'deleted' }
  if (listed.expired || listed.expirationDate.getTime() <= rules.now.getTime())
    return { valid: false, reason: 'expired' }
  if (listed.expirationDate.getTime() - (rules.marginMs ?? EXPIRY_MARGIN_MS) <= rules.now.getTime())
    return { valid: false, reason: 'expiring' }
  if (listed.registrationsCount >= listed.registrationLimit) return { valid: false, reason: 'full' }
  if (listed.iamRole !== rules.role) return { valid: false, reason: 'other-role' }
  return { valid: true }
}

export const VERDICT_TEXT: Record<Exclude<Verdict, { valid: true }>['reason'], string> = {
  none: 'no activation is stored yet',
  unreadable: 'the stored activation is unreadable',
  deleted: 'the stored activation was deleted',
  expired: 'the stored activation has expired',
  expiring: 'the stored activation expires within the hour',
  full: 'the stored activation has reached its registration limit',
  'other-role': 'the stored activation is for another IAM role',
}
