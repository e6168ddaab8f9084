import { describe, expect, it } from 'vitest'
import { UsageError } from '../support/errors.ts'
import { proxy } from './proxy.ts'

describe('proxy flags', () => {
  it('takes --via with the native transport', () => {
    expect(proxy.parse(['--via', 'pi-gateway', '10.20.0.11', '22'])).toMatchObject({
      via: 'pi-gateway',
      target: '10.20.0.11',
      port: 22,
    })
  })

  it('refuses --transport plugin with --via at once (the plugin would open a local port and ssh would hang)', () => {
    const attempt = () => proxy.parse(['--transport', 'plugin', '--via', 'pi-gateway', '10.20.0.11', '22'])
    expect(attempt).toThrow(UsageError)
    expect(attempt).toThrow('--transport plugin cannot carry --via')
  })
})
