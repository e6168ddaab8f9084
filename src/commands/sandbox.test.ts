import { describe, expect, it } from 'vitest'
import { UsageError } from '../support/errors.ts'
import { parse } from './sandbox.ts'

describe('sandbox flags', () => {
  it('the hybrid tier: advanced unless asked', () => {
    expect(parse([]).activationTier).toBe('advanced')
    expect(parse(['--activation-tier', 'standard']).activationTier).toBe('standard')
    expect(() => parse(['--activation-tier', 'premium'])).toThrow(UsageError)
  })

  it('clones of real instances, NAME=COPY, only with --real', () => {
    expect(parse(['--real', '1', '--clone', 'pi-kitchen=pi-kitchen-copy']).clones).toEqual([
      { of: 'pi-kitchen', name: 'pi-kitchen-copy' },
    ])
    expect(() => parse(['--clone', 'pi-kitchen=copy'])).toThrow(/needs --real/)
    for (const bad of ['pi-kitchen', 'pi-kitchen=', '=copy', 'a=b;reboot', 'a=b c'])
      expect(() => parse(['--real', '1', '--clone', bad])).toThrow(/is not NAME=COPY/)
  })
})
