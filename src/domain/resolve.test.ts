import { describe, expect, it } from 'vitest'
import type { Instance } from './instance.ts'
import { requireTarget, resolveTarget } from './resolve.ts'

const now = new Date('2026-11-24T12:00:00Z')
const inst = (id: string, name: string, extra: Partial<Instance> = {}): Instance => ({
  id,
  name,
  computerName: `${name}.local`,
  ipAddress: '192.168.1.1',
  pingStatus: 'Online',
  lastPing: new Date(now.getTime() - 30_000),
  platform: 'Raspbian',
  agentVersion: '3.3.0.0',
  resourceType: 'ManagedInstance',
  tags: {},
  ...extra,
})

const fleet = [
  inst('mi-00000000000000001', 'pi-kitchen', { ipAddress: '10.0.0.1', tags: { room: 'kitchen' } }),
  inst('mi-00000000000000002', 'pi-garage', { ipAddress: '10.0.0.2', tags: { room: 'garage' } }),
  inst('mi-00000000000000003', 'pi-clone'),
  inst('mi-00000000000000004', 'pi-clone'),
  inst('mi-00000000000000005', 'pi-away', {
    pingStatus: 'ConnectionLost',
    lastPing: new Date(now.getTime() - 3 * 3600_000),
  }),
  inst('i-0000000000000000a', 'web', {
    computerName: 'ip-172-31-0-1.eu-west-1.compute.internal',
    ipAddress: '172.31.0.1',
  }),
  inst('i-0000000000000000b', 'web', {
    computerName: 'ip-172-31-0-2.eu-west-1.compute.internal',
    ipAddress: '172.31.0.2',
  }),
]

describe('resolveTarget', () => {
  it.each([
    ['mi-00000000000000002', 'mi-00000000000000002', 'id'],
    ['pi-kitchen', 'mi-00000000000000001', 'name'],
    ['pi-garage.local', 'mi-00000000000000002', 'computer name'],
    ['ip-172-31-0-2', 'i-0000000000000000b', 'computer name'],
    ['10.0.0.1', 'mi-00000000000000001', 'IP address'],
    ['tag:room=garage', 'mi-00000000000000002', 'tag room'],
  ])('%s → %s by %s', (query, id, rule) => {
    expect(resolveTarget(query, fleet)).toMatchObject({ kind: 'found', instance: { id }, rule })
  })

  it('never picks one of several', () => {
    expect(resolveTarget('web', fleet)).toMatchObject({ kind: 'ambiguous', rule: 'name', clones: false })
    expect(resolveTarget('pi-clone', fleet)).toMatchObject({ kind: 'ambiguous', clones: true })
    expect(resolveTarget('nothing', fleet)).toEqual({ kind: 'none' })
  })
})

describe('requireTarget', () => {
  it('explains every refusal', () => {
    expect(() => requireTarget('pi-clone', fleet, now)).toThrow(
      /matches 2 instances by name — clones .*mi-00000000000000003 \(Online, last seen 30s ago\)/,
    )
    expect(() => requireTarget('pi-away', fleet, now)).toThrow(/offline: ConnectionLost, last ping 3h ago/)
    expect(() => requireTarget('nope', fleet, now)).toThrow(/no managed instance named "nope"/)
    expect(requireTarget('pi-kitchen', fleet, now).id).toBe('mi-00000000000000001')
  })
})

describe('a name that equals another instance’s IP is ambiguous (the name used to win)', () => {
  it('reports both, not the first rule’s instance', () => {
    const tricky = [
      inst('mi-00000000000000001', '10.0.0.2', { ipAddress: '10.0.0.1' }),
      inst('mi-00000000000000002', 'pi-garage', { ipAddress: '10.0.0.2' }),
    ]
    const r = resolveTarget('10.0.0.2', tricky)
    expect(r.kind).toBe('ambiguous')
    if (r.kind !== 'ambiguous') return
    expect(r.candidates.map((c) => c.id).sort()).toEqual(['mi-00000000000000001', 'mi-00000000000000002'])
    expect(r.rule).toBe('name, computer name or IP address')
    expect(() => requireTarget('10.0.0.2', tricky, now)).toThrow(/matches 2 instances/)
    // a name that is also its own instance's host name is no conflict
    expect(resolveTarget('pi-garage', tricky)).toMatchObject({ kind: 'found', rule: 'name' })
  })
})
