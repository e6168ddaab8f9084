import { describe, expect, it } from 'vitest'
import { getConnectionStatus } from './ssm-instances.ts'
import { testState } from './test-server.ts'

describe('GetConnectionStatus', () => {
  it('is the control channel for a real agent, whatever its last ping said', () => {
    const state = testState(2, 0)
    const [real, simulated] = [...state.instances.values()]
    if (!real || !simulated) throw new Error('testState made no instances')
    real.agent = 'real'
    real.pingStatus = 'Online'
    const held = new Set<string>()
    const status = (id: string) => getConnectionStatus(state, { Target: id }, (i) => held.has(i)).Status
    // a clone dropped from the channel: Online by its last ping, not connected
    expect(status(real.id)).toBe('notconnected')
    held.add(real.id)
    expect(status(real.id)).toBe('connected')
    // a simulated agent is connected while it is Online
    simulated.pingStatus = 'Online'
    expect(status(simulated.id)).toBe('connected')
    simulated.pingStatus = 'ConnectionLost'
    expect(status(simulated.id)).toBe('notconnected')
    expect(status('mi-00000000000000000')).toBe('notconnected')
  })
})
