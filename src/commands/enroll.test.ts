import { describe, expect, it } from 'vitest'
import { UsageError } from '../support/errors.ts'
import { parse as parseEnroll } from './enroll.ts'
import { parse as parseReactivate } from './reactivate.ts'

describe('enroll and reactivate flags', () => {
  it('reads the plain ssh target, the activation and the name', () => {
    expect(
      parseEnroll([
        '--ssh',
        'pi@10.0.0.7',
        '-p',
        '2222',
        '-i',
        '/k/id',
        '-o',
        'StrictHostKeyChecking=accept-new',
        '--activation-id',
        'a',
        '--activation-code',
        'b',
        '--name',
        'pi-kitchen',
      ]),
    ).toEqual({
      ssh: {
        destination: 'pi@10.0.0.7',
        port: 2222,
        identityFile: '/k/id',
        options: ['StrictHostKeyChecking=accept-new'],
      },
      name: 'pi-kitchen',
      activationId: 'a',
      activationCode: 'b',
      role: 'SSMServiceRole',
      timeoutSeconds: 60,
      force: false,
    })
    expect(parseReactivate(['mi-0123456789abcdef0', '--host', 'pi-2'])).toMatchObject({
      target: 'mi-0123456789abcdef0',
      host: 'pi-2',
      settleSeconds: 60,
      attempts: 10,
    })
  })

  it('refuses what would reach ssh or the script unchecked, with a usage error', () => {
    const bad = [
      ['--ssh=-oProxyCommand=touch /tmp/x'],
      ['--ssh', 'pi@host', '-o', 'ProxyCommand=touch /tmp/x'],
      ['--ssh', 'pi@host', '-o', 'LocalCommand=id'],
      ['--ssh', 'pi@host', '-p', '70000'],
      ['-p', '22'],
      ['--activation-id', 'only-the-id'],
      ['--name', 'a\nb'],
      ['--timeout', '0'],
      ['extra'],
    ]
    for (const argv of bad) expect(() => parseEnroll(argv), argv.join(' ')).toThrow(UsageError)
    expect(() => parseReactivate([])).toThrow(UsageError)
    // a settle no longer than the quiet window could never retire an id
    expect(() => parseReactivate(['mi-0123456789abcdef0', '--settle', '25'])).toThrow(
      /--settle 25 is too short/,
    )
    expect(parseReactivate(['mi-0123456789abcdef0', '--settle', '26']).settleSeconds).toBe(26)
    expect(() => parseReactivate(['mi-0123456789abcdef0', '--host', 'a;b'])).toThrow(UsageError)
    expect(() => parseReactivate(['mi-0123456789abcdef0', '--host', 'a', '--ssh', 'pi@a'])).toThrow(
      UsageError,
    )
  })
})
