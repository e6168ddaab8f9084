// Which SendCommand calls a selection becomes: Targets for a whole tag, ≤ 50 ids otherwise, offline
// and too-old nodes set aside, Windows nodes on the PowerShell document.
import { describe, expect, it } from 'vitest'
import type { Instance } from '../instance.ts'
import { planRun, splitLimit } from './plan.ts'

const node = (n: number, over: Partial<Instance> = {}): Instance => ({
  id: `mi-${String(n).padStart(17, '0')}`,
  name: `pi-${n}`,
  computerName: `pi-${n}.local`,
  ipAddress: '',
  pingStatus: 'Online',
  platform: 'Raspbian GNU/Linux 12',
  agentVersion: '3.3.1142.0',
  resourceType: 'ManagedInstance',
  tags: { site: 'home' },
  ...over,
})
const fleet = (n: number) => Array.from({ length: n }, (_, i) => node(i))
const base = { minAgent: '', maxConcurrency: '50', maxErrors: '100%' }
const tag = { key: 'site', value: 'home' }

describe('planRun', () => {
  it('a tag every node of which can run goes out as one call with Targets, whatever the count', () => {
    const plan = planRun({ ...base, instances: fleet(1000), tag })
    expect(plan.sends).toHaveLength(1)
    expect(plan.sends[0]).toMatchObject({ document: 'AWS-RunShellScript', tag, instanceIds: [] })
    expect(plan.sends[0]?.instances).toHaveLength(1000)
  })

  it('offline and too-old nodes are set aside; the rest go as ids, 50 a call', () => {
    const instances = [
      ...fleet(120),
      node(200, { pingStatus: 'ConnectionLost' }),
      node(201, { agentVersion: '2.3.500.0' }),
    ]
    const plan = planRun({ ...base, instances, tag, minAgent: '2.3.672.0' })
    expect(plan.skipped.map((s) => [s.instance.name, s.reason])).toEqual([
      ['pi-200', 'offline'],
      ['pi-201', 'too-old'],
    ])
    expect(plan.sends.map((s) => s.instanceIds.length)).toEqual([50, 50, 20])
    expect(plan.sends.every((s) => s.tag === undefined)).toBe(true)
  })

  it('an old agent runs Run Command documents (no minimum) but not ssh', () => {
    const old = node(1, { agentVersion: '2.3.500.0' })
    expect(planRun({ ...base, instances: [old] }).skipped).toEqual([])
    expect(planRun({ ...base, instances: [old], minAgent: '2.3.672.0' }).skipped).toHaveLength(1)
  })

  it('Windows nodes get AWS-RunPowerShellScript unless --document says otherwise', () => {
    const win = node(9, { platform: 'Microsoft Windows Server 2022 Datacenter' })
    const plan = planRun({ ...base, instances: [node(1), win] })
    expect(plan.sends.map((s) => [s.document, s.instanceIds.length])).toEqual([
      ['AWS-RunShellScript', 1],
      ['AWS-RunPowerShellScript', 1],
    ])
    expect(planRun({ ...base, instances: [node(1), win], document: 'My-Doc' }).sends).toHaveLength(1)
  })

  it('an absolute MaxConcurrency is shared out over the calls; percentages hold for each', () => {
    const plan = planRun({ ...base, instances: fleet(120), maxConcurrency: '10' })
    expect(plan.sends.map((s) => s.maxConcurrency)).toEqual(['4', '3', '3'])
    expect(
      planRun({ ...base, instances: fleet(120), maxConcurrency: '10%' }).sends.map((s) => s.maxConcurrency),
    ).toEqual(['10%', '10%', '10%'])
  })

  it.each([
    ['10', 3, 0, '4'],
    ['10', 3, 2, '3'],
    ['2', 3, 2, '1'],
    ['25%', 3, 1, '25%'],
    ['7', 1, 0, '7'],
  ])('splitLimit(%s, %i parts)[%i] = %s', (value, parts, index, expected) => {
    expect(splitLimit(value, parts, index, 1)).toBe(expected)
  })
})
