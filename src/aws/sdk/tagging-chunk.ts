// The Resource Groups Tagging API client is a bundle of its own, dist/tagging.cjs, as the EC2 SDK is
// (ec2-chunk.ts): only inventory loads it, never proxy. The build defines __SSM_SSH_TAGGING_CHUNK__;
// from source (tests) it is undefined and the module is imported as usual.
declare const __SSM_SSH_TAGGING_CHUNK__: string | undefined

export function loadTaggingSdk(): Promise<typeof import('./tagging.ts')> {
  return typeof __SSM_SSH_TAGGING_CHUNK__ === 'string'
    ? (import(__SSM_SSH_TAGGING_CHUNK__) as Promise<typeof import('./tagging.ts')>)
    : import('./tagging.ts')
}
