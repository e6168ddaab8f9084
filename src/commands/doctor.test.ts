import { describe, expect, it } from 'vitest'
import { UsageError } from '../support/errors.ts'
import { parse } from './doctor.ts'

describe('doctor parse', () => {
  it('targets, --json, --port, --expect-endpoint (repeatable), --timeout', () => {
    expect(
      parse([
        'pi-kitchen',
        'tag:site=home',
        '--json',
        '--port',
        '2222',
        '--expect-endpoint',
        'https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com',
        '--expect-endpoint',
        'https://127.0.0.1:443',
        '--timeout',
        '30',
      ]),
    ).toEqual({
      targets: ['pi-kitchen', 'tag:site=home'],
      json: true,
      port: 2222,
      expectedEndpoints: ['https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com', 'https://127.0.0.1:443'],
      timeoutSeconds: 30,
    })
    expect(parse([])).toEqual({
      targets: [],
      json: false,
      port: 22,
      expectedEndpoints: [],
      timeoutSeconds: 60,
    })
  })

  it('refuses a port, timeout or endpoint that is not one, naming the flag', () => {
    expect(() => parse(['--port', '0'])).toThrow(UsageError)
    expect(() => parse(['--port', '22;id'])).toThrow(/--port/)
    expect(() => parse(['--timeout', '1'])).toThrow(/--timeout/)
    expect(() => parse(['--expect-endpoint', 'http://plain'])).toThrow(/--expect-endpoint/)
    expect(() => parse(['--expect-endpoint', 'https://a b'])).toThrow(/--expect-endpoint/)
    expect(() => parse(['--bogus'])).toThrow()
  })
})
