import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { type RealInstanceSpec, specProblem } from './instance-spec.ts'

const good: RealInstanceSpec = {
  id: 'mi-0123456789abcdef0',
  hostname: 'pi-kitchen',
  region: 'eu-west-1',
  dir: '/tmp/state/real/mi-0123456789abcdef0',
  serviceSocket: '/tmp/state/agent.sock',
  servicePort: 8443,
  caCertFile: fileURLToPath(import.meta.url),
  roleToken: 'role-token-0123456789',
  users: ['pi'],
  agentBinDir: '/opt/agent/bin',
  lanHosts: [{ address: '10.20.0.10', users: ['admin'], forwardsTo: ['10.20.0.11'] }],
}
const lan = (address: string, users = ['admin']) => [{ address, users, forwardsTo: [] }]

describe('specProblem', () => {
  it('accepts a good spec', () => {
    expect(specProblem(good)).toBeUndefined()
  })

  it('names an unenrolled Pi by its host name, never by anything a shell or path would take apart', () => {
    expect(specProblem({ ...good, id: 'pi-new-1', unenrolled: true })).toBeUndefined()
    for (const id of ['../pi', 'pi new', 'pi;reboot', 'Pi-1', ''])
      expect(specProblem({ ...good, id, unenrolled: true })).toContain('is not an instance id')
  })

  it.each<[Partial<RealInstanceSpec>, string]>([
    [{ id: 'pi-kitchen' }, 'is not an instance id'],
    [{ hostname: 'pi kitchen' }, 'bad hostname'],
    [{ region: 'eu-west' }, 'bad region'],
    [{ dir: '/tmp/a,b' }, 'must be a plain path'],
    [{ serviceSocket: '/tmp/a:b.sock' }, 'must be a plain path'],
    [{ serviceSocket: `/tmp/${'s'.repeat(110)}` }, 'too long'],
    [{ servicePort: 22 }, 'is sshd’s'],
    [{ servicePort: 70000 }, 'bad servicePort'],
    [{ caCertFile: '/nonexistent/ca.pem' }, 'no CA certificate'],
    [{ users: [] }, 'at least one user'],
    [{ users: ['root'] }, 'bad user name "root"'],
    [{ users: ['pi; rm -rf /'] }, 'bad user name'],
    [{ lanHosts: lan('127.0.0.2') }, 'not an IPv4 address off loopback'],
    [{ lanHosts: lan('10.20.0.300') }, 'not an IPv4 address off loopback'],
    [{ lanHosts: [...lan('10.20.0.10'), ...lan('10.20.0.10')] }, 'listed twice'],
    [{ lanHosts: lan('10.20.0.10', []) }, 'needs a user'],
    [{ authorizedKey: 'ssh-ed25519 AAAA a\nssh-ed25519 AAAA b' }, 'one line'],
    [{ lanNames: { 'nas\n169.254.169.254 evil': ['10.20.0.11'] } }, 'bad LAN name'],
    [{ lanNames: { nas: ['10.20.0.11 evil'] } }, 'is not an IP address'],
    [{ roleToken: 'short' }, 'roleToken'],
    [{ roleToken: 'a-token-with\nnewline-inside' }, 'roleToken'],
  ])('rejects %o', (change, problem) => {
    expect(specProblem({ ...good, ...change })).toContain(problem)
  })
})
