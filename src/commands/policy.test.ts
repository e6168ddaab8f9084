import { describe, expect, it } from 'vitest'
import type { Context } from '../cli/command.ts'
import { UsageError } from '../support/errors.ts'
import { testIo } from '../support/io.ts'
import { silentLog } from '../support/log.ts'
import { parse, policy } from './policy.ts'

describe('policy: parse', () => {
  it.each([
    [[], { tags: [], forward: false, pushKey: false, account: '*' }],
    [['--tag', 'site=home', '--tag', 'role=pi'], { tags: ['site=home', 'role=pi'] }],
    [['--forward', '--json'], { forward: true }],
    [['--push-key', '--user', 'pi'], { pushKey: true, user: 'pi' }],
    [['--account', '123456789012'], { account: '123456789012' }],
  ])('%j', (argv, want) => {
    expect(parse(argv)).toMatchObject(want)
  })
  it.each([
    [['--user', 'pi'], /--user needs --push-key/],
    [['site=home'], /unexpected argument/],
    [['--tags', 'x'], /Unknown option/],
  ])('%j is refused', (argv, message) => {
    expect(() => parse(argv)).toThrow(message)
  })
})

describe('policy: run', () => {
  const ctx = (region?: string) => {
    const io = testIo()
    return {
      io,
      ctx: {
        io,
        log: silentLog,
        env: {},
        global: { debug: false, verbose: false, quiet: false, ...(region ? { region } : {}) },
      } as unknown as Context,
    }
  }
  it('prints the policy on stdout, Region from --region', async () => {
    const { io, ctx: c } = ctx('eu-west-1')
    expect(await policy.run(parse(['--tag', 'site=home']), c)).toBe(0)
    const doc = JSON.parse(io.stdoutText())
    expect(doc.Version).toBe('2012-10-17')
    expect(doc.Statement[1].Resource).toEqual(['arn:aws:ssm:eu-west-1::document/AWS-StartSSHSession'])
  })
  it('a bad tag or account is a usage error', async () => {
    await expect(policy.run(parse(['--tag', 'site']), ctx().ctx)).rejects.toThrow(UsageError)
    await expect(policy.run(parse(['--account', 'mine']), ctx().ctx)).rejects.toThrow(UsageError)
  })
})
