// The IAM SDK (for doctor's iam:SimulatePrincipalPolicy) is a bundle of its own, dist/iam.cjs, as the
// EC2 one is (ec2-chunk.ts): proxy never loads it. From source (tests) it is imported as usual.
declare const __SSM_SSH_IAM_CHUNK__: string | undefined

export function loadIamSdk(): Promise<typeof import('./iam.ts')> {
  return typeof __SSM_SSH_IAM_CHUNK__ === 'string'
    ? (import(__SSM_SSH_IAM_CHUNK__) as Promise<typeof import('./iam.ts')>)
    : import('./iam.ts')
}
