import { describe, expect, it } from 'vitest'
import { AuthError } from '../support/errors.ts'
import { translateAwsError } from './errors.ts'

const denied = (name: string, message: string) =>
  translateAwsError(Object.assign(new Error(message), { name }), { operation: 'StartSession on mi-1' })

describe('translateAwsError: AccessDenied', () => {
  it.each([
    [
      'SSM, no Allow',
      'AccessDeniedException',
      'User: arn:aws:iam::123456789012:user/ann is not authorized to perform: ssm:StartSession on resource: arn:aws:ssm:eu-west-1:123456789012:managed-instance/mi-0123456789abcdef0 because no identity-based policy allows the ssm:StartSession action',
      'your IAM policy does not allow ssm:StartSession on mi-0123456789abcdef0 — see `ssm-ssh policy`',
    ],
    [
      'SSM, explicit Deny on a document',
      'AccessDeniedException',
      'User: arn:aws:iam::123456789012:user/ann is not authorized to perform: ssm:StartSession on resource: arn:aws:ssm:eu-west-1::document/AWS-StartInteractiveCommand with an explicit deny in an identity-based policy',
      'your IAM policy does not allow ssm:StartSession on AWS-StartInteractiveCommand (an explicit Deny) — see `ssm-ssh policy`',
    ],
    [
      'EC2, no resource',
      'UnauthorizedOperation',
      'You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/ann is not authorized to perform: ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action',
      'your IAM policy does not allow ec2:DescribeInstances — see `ssm-ssh policy`',
    ],
    [
      'older wording without a reason',
      'AccessDeniedException',
      'User: arn:aws:iam::123456789012:user/ann is not authorized to perform: ssm:SendCommand on resource: arn:aws:ec2:us-west-2:123456789012:instance/i-0f379ed15c49bd641',
      'your IAM policy does not allow ssm:SendCommand on i-0f379ed15c49bd641 — see `ssm-ssh policy`',
    ],
    [
      'text AWS did not write',
      'AccessDenied',
      'Access Denied',
      'access denied during StartSession on mi-1: Access Denied — see `ssm-ssh policy`',
    ],
  ])('%s', (_name, code, message, want) => {
    const error = denied(code, message)
    expect(error).toBeInstanceOf(AuthError)
    expect(error.exitCode).toBe(3)
    expect(error.message).toBe(want)
    expect(error.hint).toBeUndefined()
  })
})
