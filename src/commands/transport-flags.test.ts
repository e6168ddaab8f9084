import { describe, expect, it } from 'vitest'
import { UsageError } from '../support/errors.ts'
import { proxy } from './proxy.ts'
import { transportFlags } from './transport-flags.ts'

describe('transportFlags (proxy and config)', () => {
  it('is native by default; --plugin only with --transport plugin', () => {
    expect(transportFlags(undefined, undefined)).toEqual({ transport: 'native' })
    expect(transportFlags('plugin', '/opt/smp')).toEqual({ transport: 'plugin', pluginPath: '/opt/smp' })
    expect(() => transportFlags('pigeon', undefined)).toThrow(/--transport pigeon is not native or plugin/)
    expect(() => transportFlags('native', '/opt/smp')).toThrow(UsageError)
    expect(() => transportFlags(undefined, '/opt/smp')).toThrow(/--plugin goes with --transport plugin/)
  })

  it('is what proxy parses', () => {
    expect(
      proxy.parse(['mi-0123456789abcdef0', '--transport', 'plugin', '--plugin', '/opt/smp']),
    ).toMatchObject({
      transport: 'plugin',
      pluginPath: '/opt/smp',
    })
    expect(() => proxy.parse(['mi-0123456789abcdef0', '--plugin', '/opt/smp'])).toThrow(UsageError)
  })
})
