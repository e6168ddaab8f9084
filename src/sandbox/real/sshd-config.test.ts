import { describe, expect, it } from 'vitest'
import { type LanHost, sshdConfigs } from './sshd-config.ts'

const lanHosts: LanHost[] = [{ address: '10.20.0.10', users: ['admin'], forwardsTo: ['10.20.0.11'] }]
const lan = (address: string): LanHost[] => [{ address, users: ['admin'], forwardsTo: [] }]

describe('sshdConfigs', () => {
  const [instance, lanHost] = sshdConfigs(['pi'], lanHosts)

  it('gives the instance its loopback and forwarding to the LAN hosts it has', () => {
    expect(instance?.text).toContain('ListenAddress 127.0.0.1:22\n')
    expect(instance?.text).toContain('AllowUsers pi\n')
    expect(instance?.text).toContain('PermitOpen 127.0.0.1:* localhost:* 10.20.0.10:22\n')
    expect(instance?.text).toContain('UsePAM no\n')
  })

  it('lets a LAN host forward only to the SSH of the hosts it lists', () => {
    expect(lanHost?.name).toBe('lan-10.20.0.10')
    expect(lanHost?.text).toContain('ListenAddress 10.20.0.10:22\n')
    expect(lanHost?.text).toContain('AllowUsers admin\n')
    expect(lanHost?.text).toContain('PermitOpen 10.20.0.11:22\n')
    const [, closed] = sshdConfigs(['pi'], lan('10.20.0.10'))
    expect(closed?.text).toContain('AllowTcpForwarding no\n')
  })

  it('reaches a host behind another LAN host only through that one', () => {
    const chain = [
      { address: '10.20.0.11', users: ['admin'], forwardsTo: ['10.30.0.5'] },
      { address: '10.30.0.5', users: ['admin'], forwardsTo: [] },
    ]
    const [gateway] = sshdConfigs(['pi'], chain)
    expect(gateway?.text).toContain('PermitOpen 127.0.0.1:* localhost:* 10.20.0.11:22\n')
  })
})
