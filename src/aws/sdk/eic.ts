// See ssm.ts: named re-exports keep the bundle to what is used.
export { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect'
