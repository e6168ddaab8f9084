// Who signs requests to the sandbox: the person at the CLI (the key pair it prints, an IAM user) and
// the identities it hands out (an instance's role, through a credentials endpoint or a role token).
// Every key pair it accepts is here; SigV4 verification (api/sigv4.ts) looks the signer up by key id.
import { randomBytes } from 'node:crypto'

export interface Principal {
  /** arn:aws:iam::ACCOUNT:user/NAME, or arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION */
  arn: string
  /** aws:userid: AIDA… for a user, AROA…:SESSION for a role session */
  userId: string
  /** aws:username: IAM users only */
  userName?: string
  /** 'caller': the user the sandbox's own key pair belongs to; 'instance': an instance's role */
  kind: 'caller' | 'instance'
  /** the instance a role session belongs to (its agent signs with it) */
  instanceId?: string
}

export interface IssuedCredential {
  accessKeyId: string
  secretAccessKey: string
  /** temporary credentials carry one; the request must send it (X-Amz-Security-Token) */
  sessionToken?: string
  expiresAt?: Date
  principal: Principal
}

export const CALLER_NAME = 'sandbox-user'

export function callerCredential(
  accountId: string,
  accessKeyId: string,
  secretAccessKey: string,
): IssuedCredential {
  return {
    accessKeyId,
    secretAccessKey,
    principal: {
      arn: `arn:aws:iam::${accountId}:user/${CALLER_NAME}`,
      userId: `AIDA${accessKeyId.slice(4, 20)}`,
      userName: CALLER_NAME,
      kind: 'caller',
    },
  }
}

const upperAlnum = (bytes: number) =>
  randomBytes(bytes)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .toUpperCase()

/**
 * Temporary credentials for a role session (ASIA… key, secret, session token), valid for `ttlMs`:
 * what AssumeRole, an instance profile or RequestManagedInstanceRoleToken hand out.
 */
export function roleSessionCredential(
  accountId: string,
  role: string,
  session: string,
  now: Date,
  ttlMs: number,
  instanceId?: string,
): IssuedCredential {
  const roleId = `AROA${upperAlnum(16).slice(0, 16).padEnd(16, 'R')}`
  return {
    accessKeyId: `ASIA${upperAlnum(16).slice(0, 16).padEnd(16, 'S')}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: randomBytes(96).toString('base64'),
    expiresAt: new Date(now.getTime() + ttlMs),
    principal: {
      arn: `arn:aws:sts::${accountId}:assumed-role/${role}/${session}`,
      userId: `${roleId}:${session}`,
      kind: 'instance',
      ...(instanceId ? { instanceId } : {}),
    },
  }
}
