// See ssm.ts: named re-exports keep the bundle to what is used.
export { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2'
