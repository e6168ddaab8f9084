// EC2 Instance Connect: a public key valid for 60 seconds for one OS user of one i- instance.
import type { AwsClients } from './clients.ts'
import { translateAwsError } from './errors.ts'

export async function sendSshPublicKey(
  clients: AwsClients,
  instanceId: string,
  osUser: string,
  publicKey: string,
): Promise<void> {
  const eic = await clients.eic()
  const { SendSSHPublicKeyCommand } = await import('./sdk/eic.ts')
  try {
    await eic.send(
      new SendSSHPublicKeyCommand({
        InstanceId: instanceId,
        InstanceOSUser: osUser,
        SSHPublicKey: publicKey,
      }),
    )
  } catch (error) {
    throw translateAwsError(error, { operation: `SendSSHPublicKey to ${instanceId}` })
  }
}
