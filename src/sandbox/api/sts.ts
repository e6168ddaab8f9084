// STS GetCallerIdentity (Query protocol, XML), enough for `ssm-ssh whoami`: who the signed request
// came from. The sandbox has one caller, the user its credentials belong to.
import type { SandboxState } from '../model.ts'

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/'

export function getCallerIdentityXml(state: SandboxState, requestId: string): string {
  return [
    `<GetCallerIdentityResponse xmlns="${NS}">`,
    '  <GetCallerIdentityResult>',
    `    <Arn>arn:aws:iam::${state.accountId}:user/sandbox-user</Arn>`,
    `    <UserId>AIDA${state.accessKeyId.slice(4, 20)}</UserId>`,
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
