// Which OS user a key is for when -l is not given: the instance's own say (tag ssm-ssh:user), else
// the user its image ships with. Guessing pi for an EC2 instance made EC2 Instance Connect report
// "ok" for a key nobody could use.
import type { Instance } from './instance.ts'

/** The tag that names an instance's login user, for images whose default is not the platform's. */
export const USER_TAG = 'ssm-ssh:user'

const BY_PLATFORM: Array<[RegExp, string]> = [
  [/^Amazon Linux/i, 'ec2-user'],
  [/^(Red Hat|RHEL|CentOS|Rocky|AlmaLinux|Fedora|SUSE|SLES)/i, 'ec2-user'],
  [/^Ubuntu/i, 'ubuntu'],
  [/^(Raspbian|Raspberry Pi OS)/i, 'pi'],
]

export function defaultUser(instance: Instance): string | undefined {
  const tagged = instance.tags[USER_TAG]
  if (tagged) return tagged
  const byPlatform = BY_PLATFORM.find(([pattern]) => pattern.test(instance.platform))?.[1]
  if (byPlatform) return byPlatform
  if (/^Debian/i.test(instance.platform)) {
    // Debian's EC2 images log in as admin; Raspberry Pi OS since bookworm reports itself as Debian,
    // and a managed (mi-) Debian node in a Pi fleet is such a Pi.
    return instance.id.startsWith('i-') ? 'admin' : 'pi'
  }
  // Nothing known (an instance given by id, not listed yet): the fleets ssm-ssh is for are Pis.
  return instance.id.startsWith('mi-') ? 'pi' : undefined
}
