import { describe, expect, it } from 'vitest'
import { parse as parseSsh } from '../commands/ssh.ts'
import { ownArgs, splitArgv, usageErrorOf } from './global-flags.ts'

describe('global flags', () => {
  it('stand before or after the command name', () => {
    expect(splitArgv(['-v', 'ls', '--profile', 'p', '--json'], {})).toEqual({
      global: { debug: false, verbose: true, quiet: false, profile: 'p' },
      command: 'ls',
      rest: ['--json'],
    })
  })

  it('-v and -q after the ssh target go to ssh, not to us', () => {
    const split = splitArgv(['--region', 'eu-west-1', 'ssh', '-q', 'pi-kitchen', '-v', 'uptime'], {})
    expect(split.global).toMatchObject({ region: 'eu-west-1', quiet: true, verbose: false })
    expect(split.rest).toEqual(['pi-kitchen', '-v', 'uptime'])
    expect(splitArgv(['ssh', '-l', 'pi', 'host', '-q'], {}).rest).toEqual(['-l', 'pi', 'host', '-q'])
  })

  it('-h after -- is the remote command’s', () => {
    expect(ownArgs(['host', '--', 'grep', '-h', 'x'])).toEqual(['host'])
    expect(ownArgs(['--json'])).toEqual(['--json'])
  })

  it('a parseArgs error becomes a usage error naming the command', () => {
    const e = Object.assign(new TypeError("Unknown option '--bogus'. To specify a positional argument…"), {
      code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
    })
    expect(usageErrorOf(e, 'ls')).toMatchObject({
      message: "Unknown option '--bogus'",
      hint: 'ssm-ssh help ls lists its options',
    })
    expect(usageErrorOf(new Error('other'), 'ls')).toBeUndefined()
  })
})

describe('ssm-ssh ssh arguments', () => {
  it.each([
    [['-l', 'pi', 'pi-garage'], 'pi-garage', ['-l', 'pi']],
    [['-lpi', '-p', '2222', 'pi-garage', 'uptime'], 'pi-garage', ['-lpi', '-p', '2222', 'uptime']],
    [['-vt', '-i', 'k', 'pi@pi-garage', '-N'], 'pi-garage', ['-vt', '-i', 'k', '-l', 'pi', '-N']],
    [['--', 'pi-garage', 'ls', '-h'], 'pi-garage', ['ls', '-h']],
    [['pi-garage', '--', 'grep', '-h', 'x'], 'pi-garage', ['grep', '-h', 'x']],
  ])('%j', (argv, target, sshArgs) => {
    expect(parseSsh(argv)).toEqual({ target, sshArgs, pushKey: false })
  })

  it('no target after ssh options is a usage error', () => {
    expect(() => parseSsh(['-l', 'pi'])).toThrow('ssm-ssh ssh needs a target')
  })
})
