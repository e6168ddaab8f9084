// The simulated fleet: deterministic from --seed, and shaped like the field. The first instances are
// stable names for the demo and the tests:
//   pi-kitchen, pi-garage, pi-attic   hybrid Raspberry Pis (user pi)
//   web-1, web-2                      EC2 Amazon Linux (user ec2-user), EC2 Name tags; web-1 without the
//                                     ec2-instance-connect package (Instance Connect keys do nothing there)
//   pi-gateway                        a Pi with private hosts behind it (remote-host forwarding)
//   pi-clone ×2                       a copied SD card: same ComputerName and Name, two mi- ids
//   pi-offline                        ConnectionLost, last ping an hour ago
//   pi-old                            Online, agent 2.3.500.0: too old for SSH sessions
// Private hosts: 10.20.0.10 (lab-printer) and 10.20.0.11 (lab-nas) behind pi-gateway; 10.30.0.5
// (lab-vault) reachable only from lab-nas.
import { join } from 'node:path'
import { createRandom } from './faults.ts'
import type { PrivateHost, SimInstance } from './model.ts'

export interface Fleet {
  instances: SimInstance[]
  privateHosts: PrivateHost[]
}

export interface FleetOptions {
  size: number
  seed: number
  stateDir: string
  now: Date
}

const ACTIVATION = { id: '4a1f3e2b-6c5d-4e7f-8a9b-0c1d2e3f4a5b', name: 'raspberrypi', role: 'SSMServiceRole' }
const CURRENT_AGENT = '3.3.1142.0'
const rooms = [
  'kitchen',
  'garage',
  'attic',
  'hall',
  'porch',
  'shed',
  'lab',
  'office',
  'barn',
  'greenhouse',
  'cellar',
  'loft',
]

interface Seed {
  name: string
  kind: 'ec2' | 'hybrid'
  ping?: 'Online' | 'ConnectionLost'
  agent?: string
  computerName?: string
  reachable?: string[]
  lanNames?: Record<string, string[]>
  /** EC2: false where the ec2-instance-connect package is not installed */
  instanceConnect?: boolean
}

const named: Seed[] = [
  { name: 'pi-kitchen', kind: 'hybrid' },
  { name: 'pi-garage', kind: 'hybrid' },
  { name: 'pi-attic', kind: 'hybrid' },
  { name: 'web-1', kind: 'ec2', instanceConnect: false },
  { name: 'web-2', kind: 'ec2' },
  {
    name: 'pi-gateway',
    kind: 'hybrid',
    reachable: ['10.20.0.10', '10.20.0.11'],
    // lab-nas is dual-stack on paper: its IPv6 address comes first and is not routed, so a client
    // reaches it only because the agent dials each resolved address in turn
    lanNames: { 'lab-printer': ['10.20.0.10'], 'lab-nas': ['fd20::11', '10.20.0.11'] },
  },
  { name: 'pi-clone', kind: 'hybrid', computerName: 'pi-clone.local' },
  { name: 'pi-clone', kind: 'hybrid', computerName: 'pi-clone.local' },
  { name: 'pi-offline', kind: 'hybrid', ping: 'ConnectionLost' },
  { name: 'pi-old', kind: 'hybrid', agent: '2.3.500.0' },
]

function hex(random: () => number, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += Math.floor(random() * 16).toString(16)
  return out
}

export function generateFleet(options: FleetOptions): Fleet {
  const random = createRandom(options.seed)
  const seeds: Seed[] = named.slice(0, Math.min(options.size, named.length))
  for (let i = seeds.length; i < options.size; i++) {
    const isPi = random() < 0.8
    const room = rooms[i % rooms.length] as string
    seeds.push({
      name: isPi ? `pi-${room}-${i}` : `app-${i}`,
      kind: isPi ? 'hybrid' : 'ec2',
      ...(random() < 0.05 ? { ping: 'ConnectionLost' as const } : {}),
    })
  }
  const now = options.now.getTime()
  const ids = new Set<string>()
  const instances = seeds.map((seed, index): SimInstance => {
    let id: string
    do id = `${seed.kind === 'ec2' ? 'i' : 'mi'}-${hex(random, 17)}`
    while (ids.has(id))
    ids.add(id)
    const offline = seed.ping === 'ConnectionLost'
    const lastPing = new Date(
      offline ? now - 3_600_000 - Math.floor(random() * 86_400_000) : now - Math.floor(random() * 60_000),
    )
    // .0 is a network address, not a host's: start at .10
    const host = index + 10
    const ip = `${seed.kind === 'ec2' ? '172.31' : '192.168'}.${(host >> 8) & 255}.${host & 255}`
    const base = {
      id,
      kind: seed.kind,
      ipAddress: ip,
      platformType: 'Linux' as const,
      agentVersion: seed.agent ?? CURRENT_AGENT,
      pingStatus: offline ? ('ConnectionLost' as const) : ('Online' as const),
      lastPingDateTime: lastPing,
      home: join(options.stateDir, 'homes', id),
      ...(seed.reachable ? { reachable: seed.reachable } : {}),
      ...(seed.lanNames ? { lanNames: seed.lanNames } : {}),
    }
    if (seed.kind === 'ec2') {
      return {
        ...base,
        computerName: `ip-${ip.replaceAll('.', '-')}.eu-west-1.compute.internal`,
        platformName: 'Amazon Linux',
        platformVersion: '2023',
        resourceType: 'EC2Instance',
        tags: new Map([
          ['Name', seed.name],
          ['env', index % 2 === 0 ? 'prod' : 'staging'],
        ]),
        availabilityZone: 'eu-west-1a',
        vpcCidr: '172.31.0.0/16',
        instanceType: 't4g.small',
        instanceConnect: seed.instanceConnect ?? true,
        users: ['ec2-user'],
      }
    }
    const debian = index % 3 === 0
    return {
      ...base,
      ssmName: ACTIVATION.name,
      computerName: seed.computerName ?? `${seed.name}.local`,
      platformName: debian ? 'Debian GNU/Linux' : 'Raspbian GNU/Linux',
      platformVersion: '12',
      resourceType: 'ManagedInstance',
      activationId: ACTIVATION.id,
      iamRole: ACTIVATION.role,
      registrationDate: new Date(now - 30 * 86_400_000),
      tags: new Map([
        ['Name', seed.name],
        ['site', 'home'],
      ]),
      users: ['pi'],
    }
  })
  const gateway = instances.find((i) => i.tags.get('Name') === 'pi-gateway')
  const privateHosts: PrivateHost[] = gateway
    ? [
        { address: '10.20.0.10', port: 22, reachableFrom: gateway.id, users: ['admin'], forwardsTo: [] },
        {
          address: '10.20.0.11',
          port: 22,
          reachableFrom: gateway.id,
          users: ['admin'],
          forwardsTo: ['10.30.0.5'],
        },
        { address: '10.30.0.5', port: 22, reachableFrom: '10.20.0.11', users: ['admin'], forwardsTo: [] },
      ].map((h) => ({ ...h, home: join(options.stateDir, 'homes', h.address) }))
    : []
  return { instances, privateHosts }
}
