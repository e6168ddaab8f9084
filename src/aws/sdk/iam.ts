// See ssm.ts: named re-exports keep the bundle to what is used.
export { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam'
