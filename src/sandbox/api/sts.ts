// STS GetCallerIdentity (Query protocol, XML), enough for `ssm-ssh whoami`: who the signed request
// came from: the user the sandbox's key pair belongs to, or a role session it handed out.
import type { Principal } from '../credentials.ts'
import type { SandboxState } from '../model.ts'
import { xmlEscape } from './errors.ts'

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/'

export function getCallerIdentityXml(state: SandboxState, principal: Principal, requestId: string): string {
  return [
    `<GetCallerIdentityResponse xmlns="${NS}">`,
    '  <GetCallerIdentityResult>',
    `    <Arn>${xmlEscape(principal.arn)}</Arn>`,
    `    <UserId>${xmlEscape(principal.userId)}</UserId>`,
    `    <Account>${state.accountId}</Account>`,
    '  </GetCallerIdentityResult>',
    `  <ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>`,
    '</GetCallerIdentityResponse>',
    '',
  ].join('\n')
}

/** STS's own error shape (not EC2's): ErrorResponse/Error/{Type,Code,Message}. */
export function stsErrorXml(code: string, message: string, requestId: string): string {
  return `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>\n`
}
