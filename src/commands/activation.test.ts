// activation's flags, one case a line: what parses to what, and every refusal names the flag.
import { describe, expect, it } from 'vitest'
import { UsageError } from '../support/errors.ts'
import { parse } from './activation.ts'

describe('activation parse', () => {
  it.each([
    [
      ['ensure', '--role', 'SSMServiceRole'],
      {
        action: 'ensure',
        role: 'SSMServiceRole',
        limit: 10,
        days: 30,
        tags: {},
        parameterName: '/hybrid/ssm-ssh/activation',
        json: false,
      },
    ],
    [
      [
        'ensure',
        '--role',
        'r',
        '--limit',
        '5',
        '--days',
        '1',
        '--tag',
        'site=home',
        '--tag',
        'k=a=b',
        '--name-prefix',
        'pi',
        '--json',
      ],
      { limit: 5, days: 1, tags: { site: 'home', k: 'a=b' }, namePrefix: 'pi', json: true },
    ],
    [['ensure', '--role', 'r', '--parameter', '/fleet/act'], { parameterName: '/fleet/act' }],
    [['ensure', '--role', 'r', '--dry-run'], { action: 'ensure', dryRun: true }],
    [['rm', '0f1e2d3c-4b5a-4968-8776-655443322110', '--dry-run'], { action: 'rm', dryRun: true }],
    [['ls'], { action: 'ls', json: false }],
    [['ls', '--json'], { action: 'ls', json: true }],
    [
      ['rm', '0f1e2d3c-4b5a-4968-8776-655443322110'],
      { action: 'rm', id: '0f1e2d3c-4b5a-4968-8776-655443322110' },
    ],
  ])('%j', (argv, expected) => {
    expect(parse(argv)).toMatchObject(expected)
  })

  it.each([
    [[], /activation needs a subcommand/],
    [['make'], /activation has no subcommand make/],
    [['ensure'], /activation ensure needs --role/],
    [['ensure', '--role', 'r', '--limit', '0'], /--limit 0 is not a whole number from 1 to 1000/],
    [['ensure', '--role', 'r', '--limit', '1001'], /--limit 1001 is not a whole number from 1 to 1000/],
    [['ensure', '--role', 'r', '--days', '31'], /--days 31 is not a whole number from 1 to 30/],
    [['ensure', '--role', 'r', '--days', '1.5'], /--days 1.5 is not a whole number/],
    [['ensure', '--role', 'a role'], /--role a role is not an IAM role name/],
    [['ensure', '--role', 'r', '--tag', 'novalue'], /--tag novalue is not KEY=VALUE/],
    [['ensure', '--role', 'r', '--tag', 'k=<script>'], /--tag k=<script> is not KEY=VALUE/],
    [['ensure', '--role', 'r', '--name-prefix', 'pi;rm'], /--name-prefix pi;rm has characters AWS refuses/],
    [
      ['ensure', '--role', 'r', '--parameter', '/ssm/x'],
      /--parameter \/ssm\/x is not a Parameter Store name/,
    ],
    [['ensure', '--role', 'r', '--parameter', 'a/b'], /--parameter a\/b is not a Parameter Store name/],
    [['ensure', '--role', 'r', 'extra'], /activation ensure takes no arguments/],
    [['ls', '--limit', '3'], /--limit is a setting of activation ensure/],
    [['rm'], /activation rm takes one activation id/],
    [['rm', 'not-an-id'], /not-an-id is not an activation id/],
    [['ls', '--bogus'], /Unknown option '--bogus'/],
    [['ls', '--dry-run'], /activation ls changes nothing/],
  ])('%j is refused', (argv, message) => {
    let error: unknown
    try {
      parse(argv)
    } catch (e) {
      error = e
    }
    expect((error as Error).message).toMatch(message)
    expect(error).toBeInstanceOf(UsageError)
  })
})
