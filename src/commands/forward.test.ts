import { describe, expect, it } from 'vitest'
import { UsageError } from '../support/errors.ts'
import { forward } from './forward.ts'

const local = (port: number, host: string, rport: number, bind = '127.0.0.1') => ({
  listen: { bind, port },
  host,
  port: rport,
})

describe('forward flags', () => {
  it.each([
    [['pi-gateway', '-L', '8080:10.20.0.10:80'], [local(8080, '10.20.0.10', 80)]],
    [['-L8080:10.20.0.10:80', 'pi-gateway'], [local(8080, '10.20.0.10', 80)]],
    [['web-1', '-L', '0.0.0.0:0:db.internal:5432'], [local(0, 'db.internal', 5432, '0.0.0.0')]],
    [['web-1', '-L', 'localhost:8080:localhost:80'], [local(8080, 'localhost', 80)]],
    [['web-1', '-L', '[::1]:8080:[fd00::1]:22'], [local(8080, 'fd00::1', 22, '::1')]],
    [
      ['web-1', '-L', '0:localhost:80', '-L', '0:127.0.0.1:81'],
      [local(0, 'localhost', 80), local(0, '127.0.0.1', 81)],
    ],
    [['web-1', '5432'], [local(0, 'localhost', 5432)]],
    [['web-1', '5432', '15432'], [local(15432, 'localhost', 5432)]],
    [
      ['web-1', '5432', '--socket', '/tmp/db.sock'],
      [{ listen: { path: '/tmp/db.sock' }, host: 'localhost', port: 5432 }],
    ],
    [
      ['web-1', '-L', 'db:5432', '--socket', '/tmp/db.sock'],
      [{ listen: { path: '/tmp/db.sock' }, host: 'db', port: 5432 }],
    ],
  ])('%j', (argv, forwards) => {
    expect(forward.parse(argv)).toEqual({
      target: argv.find((a) => /^(pi|web)-/.test(a)),
      forwards,
      json: false,
    })
  })

  it('takes --pick instead of a target: every positional is then a port', () => {
    expect(forward.parse(['--pick', '5432', '15432'])).toEqual({
      target: '',
      forwards: [local(15432, 'localhost', 5432)],
      json: false,
    })
    expect(forward.parse(['-L', '0:10.20.0.10:22', '--pick']).target).toBe('')
    expect(() => forward.parse(['--pick'])).toThrow('forward needs a port')
    expect(() => forward.parse(['--pick', '80', '81', '82'])).toThrow('unexpected argument "82"')
  })

  it('takes --json', () => {
    expect(forward.parse(['web-1', '80', '--json']).json).toBe(true)
  })

  it.each([
    [[], 'forward needs a target'],
    [['web-1'], 'forward needs a port: -L [BIND:]LPORT:HOST:RPORT, or RPORT after the target'],
    [['web-1', '--bogus'], "Unknown option '--bogus'"],
    [['web-1', '-L'], "Option '-L, --local <value>' argument missing"],
    [['web-1', '80', '81', '82'], 'unexpected argument "82"'],
    [['web-1', '0'], 'RPORT "0" is not a port from 1 to 65535'],
    [['web-1', '80', 'x'], 'LPORT "x" is not a port from 0 to 65535'],
    [['web-1', '-L', '8080:host'], '-L 8080:host: no local port'],
    [['web-1', '-L', '8080'], '-L 8080: 1 fields where 3 or 4 belong'],
    [['web-1', '-L', '8080:host:0'], '-L 8080:host:0: RPORT "0" is not a port from 1 to 65535'],
    [['web-1', '-L', '70000:host:80'], '-L 70000:host:80: LPORT "70000" is not a port from 0 to 65535'],
    [['web-1', '-L-1:host:80'], '-L -1:host:80: LPORT "-1" is not a port from 0 to 65535'],
    [['web-1', '-L', '-1:host:80'], "Option '-L' argument is ambiguous"],
    [['web-1', '-L', 'x:8080:host:80'], '-L x:8080:host:80: BIND "x" is not an IP address'],
    [['web-1', '-L', '::1:8080:host:80'], '-L ::1:8080:host:80: 6 fields where 3 or 4 belong'],
    [['web-1', '-L', '[::1:8080:h:80'], '-L [::1:8080:h:80: an unclosed or misplaced [ ]'],
    [['web-1', '-L', '8080::80'], '-L 8080::80: no HOST'],
    [['web-1', '-L', '8080:a b:80'], '-L 8080:a b:80: "a b" is not a host name or address'],
    [['web-1', '-L', '1:h:2', '-L', '3:h:4', '--socket', '/s'], '--socket takes a single forward, not 2 -L'],
    [['web-1', '-L', '8080:h:80', '--socket', '/s'], '-L 8080:h:80: with --socket, -L takes HOST:RPORT'],
    [['web-1', '80', '8080', '--socket', '/s'], 'LPORT and --socket do not go together'],
    [['web-1', '80', '--socket', ''], '--socket needs a path'],
    [['web-1', '80', '-L', '1:h:2'], 'a port argument and -L do not go together'],
    [['web-1', '-L', '8080:h:80', '-L', '8080:h:81'], 'two forwards listen on 127.0.0.1:8080'],
  ])('refuses %j', (argv, message) => {
    const attempt = () => forward.parse(argv)
    expect(attempt).toThrow(UsageError)
    expect(attempt).toThrow(message)
    try {
      attempt()
    } catch (error) {
      expect((error as UsageError).hint).toMatch(/\S/)
    }
  })

  it('names the -L form and an example in the hint of a bad -L', () => {
    expect(() => forward.parse(['web-1', '-L', '8080:host'])).toThrow(
      expect.objectContaining({ hint: 'add LPORT (0 for a free one), e.g. -L 8080:localhost:80' }),
    )
    expect(() => forward.parse(['web-1', '-L', 'a:b:c:d:e'])).toThrow(
      expect.objectContaining({ hint: expect.stringMatching(/-L \[BIND:\]LPORT:HOST:RPORT.*brackets/) }),
    )
  })
})
