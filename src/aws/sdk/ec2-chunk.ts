// The EC2 SDK (0.8 MB of service model, for inventory's Name tags) is a bundle of its own,
// dist/ec2.cjs, beside the CLI's: proxy never loads it, so the CLI bundle and the code cache every
// proxy start reads are half the size. The build defines __SSM_SSH_EC2_CHUNK__; from source (tests)
// it is undefined and the module is imported as usual.
declare const __SSM_SSH_EC2_CHUNK__: string | undefined

export function loadEc2Sdk(): Promise<typeof import('./ec2.ts')> {
  return typeof __SSM_SSH_EC2_CHUNK__ === 'string'
    ? (import(__SSM_SSH_EC2_CHUNK__) as Promise<typeof import('./ec2.ts')>)
    : import('./ec2.ts')
}
