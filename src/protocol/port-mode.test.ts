import { describe, expect, it } from 'vitest'
import { isVersionGreater, needsSmuxKeepalive, portSessionMode } from './port-mode.ts'

describe('port session mode, as the plugin chooses it', () => {
  it.each([
    [{ portNumber: '22' }, '3.3.1142.0', 'stdio'],
    [{ portNumber: '22', type: 'LocalPortForwarding' }, '3.3.1142.0', 'mux'],
    [{ type: 'LocalPortForwarding', host: '10.20.0.11' }, '3.0.197.0', 'mux'],
    [{ type: 'LocalPortForwarding' }, '3.0.196.0', 'basic'],
    [{ type: 'LocalPortForwarding' }, '2.3.672.0', 'basic'],
    [{ type: 'LocalPortForwarding' }, 'garbage', 'basic'],
  ])('%o with agent %s → %s', (properties, agent, mode) => {
    expect(portSessionMode(properties, agent)).toBe(mode)
  })

  it.each([
    ['3.0.197.0', '3.0.196.0', true],
    ['3.0.196.0', '3.0.196.0', false],
    ['3.1.0.0', '3.0.196.0', true],
    ['10.0.0.0', '9.9.9.9', true],
    ['3.0.196', '3.0.196.0', false],
    ['3.x.1.0', '3.0.196.0', false],
  ])('%s > %s is %s', (a, b, greater) => {
    expect(isVersionGreater(a, b)).toBe(greater)
  })

  it('keeps smux alive with NOPs for agents up to 3.1.1511.0', () => {
    expect(needsSmuxKeepalive('3.1.1511.0')).toBe(true)
    expect(needsSmuxKeepalive('3.1.1446.0')).toBe(true)
    expect(needsSmuxKeepalive('3.3.1142.0')).toBe(false)
  })
})
