// Named re-exports, so that the bundler keeps only what ssm-ssh uses of the SDK: a dynamic import of
// the whole package would pull in every SSM operation (1 MB) and slow every proxy start.
export { SSMClient } from '@aws-sdk/client-ssm'
