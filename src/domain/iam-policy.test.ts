import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../support/errors.ts'
import { addTag, checkScope, type PolicyOptions, renderPolicy } from './iam-policy.ts'

const template = readFileSync(new URL('../../templates/iam-policy.json', import.meta.url), 'utf8')
const options = (extra: Partial<PolicyOptions> = {}): PolicyOptions => ({
  tags: new Map([['site', ['home']]]),
  forward: false,
  pushKey: false,
  region: '*',
  account: '*',
  ...extra,
})
type Statement = {
  Sid: string
  Action: string | string[]
  Resource: string | string[]
  Condition?: Record<string, Record<string, unknown>>
}
const statements = (o: PolicyOptions) =>
  (JSON.parse(renderPolicy(template, o)) as { Statement: Statement[] }).Statement
const sid = (o: PolicyOptions, name: string) => statements(o).find((s) => s.Sid === name)

describe('renderPolicy', () => {
  it('sessions only to tagged instances, only through the SSH document, with the document check on', () => {
    const instances = sid(options(), 'StartSessionsOnTaggedInstances')
    expect(instances?.Condition).toEqual({
      BoolIfExists: { 'ssm:SessionDocumentAccessCheck': 'true' },
      StringEquals: { 'ssm:resourceTag/site': ['home'] },
    })
    expect(sid(options(), 'OnlyTheseSessionDocuments')?.Resource).toEqual([
      'arn:aws:ssm:*::document/AWS-StartSSHSession',
    ])
    expect(sid(options({ forward: true }), 'OnlyTheseSessionDocuments')?.Resource).toEqual([
      'arn:aws:ssm:*::document/AWS-StartSSHSession',
      'arn:aws:ssm:*::document/AWS-StartPortForwardingSession',
      'arn:aws:ssm:*::document/AWS-StartPortForwardingSessionToRemoteHost',
    ])
    // every statement that allows StartSession carries the check, as AWS's page says it must
    for (const s of statements(options({ forward: true }))) {
      if ([s.Action].flat().includes('ssm:StartSession'))
        expect(s.Condition?.BoolIfExists).toEqual({ 'ssm:SessionDocumentAccessCheck': 'true' })
    }
  })

  it('fills Region and account, keeps policy variables, and is stable', () => {
    const o = options({ region: 'eu-west-1', account: '123456789012' })
    const text = renderPolicy(template, o)
    expect(text).toBe(renderPolicy(template, o))
    expect(text.endsWith('}\n')).toBe(true)
    expect(text).not.toMatch(/\{\{|"_/)
    expect(sid(o, 'OwnSessionsOnlyResumeOpenEnd')?.Resource).toEqual([
      'arn:aws:ssm:eu-west-1:123456789012:session/${aws:username}-*',
      'arn:aws:ssm:eu-west-1:123456789012:session/${aws:userid}-*',
    ])
    expect(statements(o).map((s) => s.Sid)).toEqual([
      'StartSessionsOnTaggedInstances',
      'OnlyTheseSessionDocuments',
      'OwnSessionsOnlyResumeOpenEnd',
      'ListInstancesAndTheirTags',
      'ReadManagedInstanceTags',
      'ReadTheHybridTierForDoctor',
      'SimulateOwnPolicyForDoctor',
    ])
  })

  it('several tags: keys AND-ed (sorted), one key OR-ed over its values', () => {
    const tags = new Map<string, string[]>()
    for (const t of ['site=lab', 'role=pi', 'site=home', 'site=lab']) addTag(tags, t)
    expect(sid(options({ tags }), 'StartSessionsOnTaggedInstances')?.Condition?.StringEquals).toEqual({
      'ssm:resourceTag/role': ['pi'],
      'ssm:resourceTag/site': ['lab', 'home'],
    })
    expect(
      sid(options({ tags: new Map() }), 'StartSessionsOnTaggedInstances')?.Condition?.StringEquals,
    ).toBeUndefined()
  })

  it('--push-key: Instance Connect for the tag (and --user), Run Command on tagged instances, named for what it allows', () => {
    const o = options({ pushKey: true, user: 'pi' })
    expect(sid(o, 'PushKeysWithInstanceConnectToTaggedEc2')?.Condition?.StringEquals).toEqual({
      'aws:ResourceTag/site': ['home'],
      'ec2:osuser': 'pi',
    })
    expect(sid(o, 'PushKeysRunAnyShellScriptAsRootOnTaggedInstances')?.Condition?.StringEquals).toEqual({
      'ssm:resourceTag/site': ['home'],
    })
    expect(sid(o, 'PushKeysUseAwsRunShellScript')?.Resource).toBe(
      'arn:aws:ssm:*::document/AWS-RunShellScript',
    )
    expect(sid(options(), 'PushKeysUseAwsRunShellScript')).toBeUndefined()
  })
})

describe('flags', () => {
  it.each([['site'], ['=home'], ['site=ho*me'], ['site=${aws:username}'], ['si?te=home']])(
    '--tag %s is refused',
    (text) => {
      expect(() => addTag(new Map(), text)).toThrow(UsageError)
    },
  )
  it('an empty value is a value', () => {
    const tags = new Map<string, string[]>()
    addTag(tags, 'site=')
    expect(tags.get('site')).toEqual([''])
  })
  it.each([
    ['eu-west-1', '123456789012', undefined, true],
    ['*', '*', 'pi', true],
    ['eu-west-1*', '*', undefined, false],
    ['*', '1234', undefined, false],
    ['*', '*', 'Root;', false],
  ])('--region %s --account %s --user %s', (region, account, user, ok) => {
    const check = () => checkScope(region, account, user)
    if (ok) expect(check).not.toThrow()
    else expect(check).toThrow(UsageError)
  })
})
