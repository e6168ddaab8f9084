import { describe, expect, it } from 'vitest'
import { evaluate } from './evaluate.ts'
import { PolicyError, parsePolicy } from './policy.ts'

const policy = (...statements: object[]) =>
  parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }, null, 2))
const allow = (Action: unknown, Resource: unknown = '*', extra: object = {}) => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...extra,
})
const deny = (Action: unknown, Resource: unknown = '*', extra: object = {}) => ({
  Effect: 'Deny',
  Action,
  Resource,
  ...extra,
})

const pi = 'arn:aws:ssm:eu-west-1:123456789012:managed-instance/mi-0123456789abcdef0'
const user = { 'aws:username': ['sandbox-user'], 'aws:userid': ['AIDAEXAMPLE'] }
const decide = (
  p: ReturnType<typeof policy>,
  action: string,
  resource: string,
  context: Record<string, string[]> = {},
) => evaluate([p], { action, resource, context: { ...user, ...context } }).decision

describe('evaluate', () => {
  it.each([
    [
      'no statement applies: implicit deny',
      policy(allow('ssm:DescribeSessions')),
      'ssm:StartSession',
      pi,
      'implicitDeny',
    ],
    ['an Allow applies', policy(allow('ssm:StartSession', pi)), 'ssm:StartSession', pi, 'allowed'],
    [
      'Deny wins over Allow',
      policy(allow('ssm:*'), deny('ssm:StartSession', pi)),
      'ssm:StartSession',
      pi,
      'explicitDeny',
    ],
    [
      'a Deny elsewhere does not',
      policy(allow('ssm:*'), deny('ssm:StartSession', `${pi}x`)),
      'ssm:StartSession',
      pi,
      'allowed',
    ],
    ['actions ignore case', policy(allow('SSM:startsession', pi)), 'ssm:StartSession', pi, 'allowed'],
    ['action wildcards *', policy(allow('ssm:Start*', pi)), 'ssm:StartSession', pi, 'allowed'],
    ['action wildcards ?', policy(allow('ssm:?tartSession', pi)), 'ssm:StartSession', pi, 'allowed'],
    [
      'resources keep case',
      policy(allow('ssm:StartSession', pi.toUpperCase())),
      'ssm:StartSession',
      pi,
      'implicitDeny',
    ],
    [
      'resource wildcards',
      policy(allow('ssm:StartSession', 'arn:aws:ssm:*:*:managed-instance/mi-*')),
      'ssm:StartSession',
      pi,
      'allowed',
    ],
    [
      'resource ? is one character',
      policy(allow('ssm:StartSession', 'arn:aws:ssm:eu-west-?:*:managed-instance/*')),
      'ssm:StartSession',
      pi,
      'allowed',
    ],
    [
      'NotResource',
      policy({ Effect: 'Allow', Action: 'ssm:StartSession', NotResource: 'arn:aws:ec2:*:*:instance/*' }),
      'ssm:StartSession',
      pi,
      'allowed',
    ],
    [
      'an action without resource types matches any Resource',
      policy(allow('ssm:DescribeSessions', pi)),
      'ssm:DescribeSessions',
      '*',
      'allowed',
    ],
  ])('%s', (_name, p, action, resource, want) => {
    expect(decide(p, action, resource)).toBe(want)
  })

  it('NotAction applies to every action but the listed ones', () => {
    const p = policy({ Effect: 'Allow', NotAction: 'ssm:SendCommand', Resource: '*' })
    expect(decide(p, 'ssm:StartSession', pi)).toBe('allowed')
    expect(decide(p, 'ssm:sendcommand', pi)).toBe('implicitDeny')
    const d = policy(allow('*'), { Effect: 'Deny', NotAction: 'ssm:Describe*', Resource: '*' })
    expect(decide(d, 'ssm:DescribeSessions', '*')).toBe('allowed')
    expect(decide(d, 'ssm:StartSession', pi)).toBe('explicitDeny')
  })

  it('policy variables: ${aws:username}, ${aws:userid}, a missing key never matches, defaults and escapes', () => {
    const own = policy(allow('ssm:TerminateSession', 'arn:aws:ssm:*:*:session/${aws:username}-*'))
    const session = (id: string) => `arn:aws:ssm:eu-west-1:123456789012:session/${id}`
    expect(decide(own, 'ssm:TerminateSession', session('sandbox-user-0a1b2c3d4e5f6a7b8'))).toBe('allowed')
    expect(decide(own, 'ssm:TerminateSession', session('other-user-0a1b2c3d4e5f6a7b8'))).toBe('implicitDeny')
    // a role session has no aws:username: the element cannot match anything
    expect(
      evaluate([own], {
        action: 'ssm:TerminateSession',
        resource: session('-x'),
        context: { 'aws:userid': ['AROA:x'] },
      }).decision,
    ).toBe('implicitDeny')
    const byId = policy(allow('ssm:TerminateSession', 'arn:aws:ssm:*:*:session/${aws:userid}-*'))
    expect(decide(byId, 'ssm:TerminateSession', session('AIDAEXAMPLE-0a1b'))).toBe('allowed')
    // the value is literal: a user named "*" does not become a wildcard
    expect(
      evaluate([own], {
        action: 'ssm:TerminateSession',
        resource: session('bob-1'),
        context: { 'aws:username': ['*'] },
      }).decision,
    ).toBe('implicitDeny')
    const dflt = policy(
      allow('ssm:TerminateSession', "arn:aws:ssm:*:*:session/${aws:PrincipalTag/team, 'none'}-*"),
    )
    expect(decide(dflt, 'ssm:TerminateSession', session('none-1'))).toBe('allowed')
    const star = policy(allow('ssm:StartSession', 'arn:aws:ssm:*:*:document/${*}'))
    expect(decide(star, 'ssm:StartSession', 'arn:aws:ssm:eu-west-1::document/*')).toBe('allowed')
    expect(decide(star, 'ssm:StartSession', 'arn:aws:ssm:eu-west-1::document/AWS-StartSSHSession')).toBe(
      'implicitDeny',
    )
    // 2008-10-17 has no variables: ${aws:username} is text
    const old = parsePolicy(
      JSON.stringify({
        Version: '2008-10-17',
        Statement: [allow('ssm:TerminateSession', 'arn:aws:ssm:*:*:session/${aws:username}-*')],
      }),
    )
    expect(decide(old, 'ssm:TerminateSession', session('sandbox-user-1'))).toBe('implicitDeny')
  })

  it('conditions: tag keys, StringLike, StringNotEquals, Bool, IfExists, Null, and a missing tag', () => {
    const tagged = policy(
      allow('ssm:StartSession', '*', { Condition: { StringEquals: { 'ssm:resourceTag/site': 'home' } } }),
    )
    expect(decide(tagged, 'ssm:StartSession', pi, { 'ssm:resourceTag/site': ['home'] })).toBe('allowed')
    expect(decide(tagged, 'ssm:StartSession', pi, { 'ssm:resourceTag/site': ['Home'] })).toBe('implicitDeny')
    expect(decide(tagged, 'ssm:StartSession', pi, {})).toBe('implicitDeny')
    // condition key names ignore case
    expect(decide(tagged, 'ssm:StartSession', pi, { 'SSM:ResourceTag/site': ['home'] })).toBe('allowed')
    const like = policy(
      allow('ssm:StartSession', '*', {
        Condition: { StringLike: { 'ssm:resourceTag/site': ['ho*', 'lab'] } },
      }),
    )
    expect(decide(like, 'ssm:StartSession', pi, { 'ssm:resourceTag/site': ['house'] })).toBe('allowed')
    expect(decide(like, 'ssm:StartSession', pi, { 'ssm:resourceTag/site': ['office'] })).toBe('implicitDeny')
    const not = policy(
      allow('ssm:StartSession', '*', { Condition: { StringNotEquals: { 'ssm:resourceTag/site': 'prod' } } }),
    )
    expect(decide(not, 'ssm:StartSession', pi, { 'ssm:resourceTag/site': ['prod'] })).toBe('implicitDeny')
    expect(decide(not, 'ssm:StartSession', pi, { 'ssm:resourceTag/site': ['home'] })).toBe('allowed')
    expect(decide(not, 'ssm:StartSession', pi, {})).toBe('allowed')
    const check = policy(
      allow('ssm:StartSession', '*', {
        Condition: { BoolIfExists: { 'ssm:SessionDocumentAccessCheck': 'true' } },
      }),
    )
    expect(decide(check, 'ssm:StartSession', pi, { 'ssm:SessionDocumentAccessCheck': ['true'] })).toBe(
      'allowed',
    )
    expect(decide(check, 'ssm:StartSession', pi, { 'ssm:SessionDocumentAccessCheck': ['false'] })).toBe(
      'implicitDeny',
    )
    expect(decide(check, 'ssm:StartSession', pi, {})).toBe('allowed')
    const bool = policy(
      allow('ssm:StartSession', '*', { Condition: { Bool: { 'ssm:SessionDocumentAccessCheck': true } } }),
    )
    expect(decide(bool, 'ssm:StartSession', pi, {})).toBe('implicitDeny')
    const ifExists = policy(
      allow('ssm:StartSession', '*', {
        Condition: { StringEqualsIfExists: { 'ssm:resourceTag/site': 'home' } },
      }),
    )
    expect(decide(ifExists, 'ssm:StartSession', pi, {})).toBe('allowed')
    expect(decide(ifExists, 'ssm:StartSession', pi, { 'ssm:resourceTag/site': ['lab'] })).toBe('implicitDeny')
    const nul = policy(
      deny('ssm:StartSession', '*', { Condition: { Null: { 'ssm:resourceTag/site': 'true' } } }),
      allow('ssm:*'),
    )
    expect(decide(nul, 'ssm:StartSession', pi, {})).toBe('explicitDeny')
    expect(decide(nul, 'ssm:StartSession', pi, { 'ssm:resourceTag/site': ['x'] })).toBe('allowed')
    // several keys in a block, several blocks: all must hold
    const both = policy(
      allow('ec2-instance-connect:SendSSHPublicKey', '*', {
        Condition: { StringEquals: { 'aws:ResourceTag/site': 'home', 'ec2:osuser': 'pi' } },
      }),
    )
    expect(
      decide(both, 'ec2-instance-connect:SendSSHPublicKey', '*', {
        'aws:ResourceTag/site': ['home'],
        'ec2:osuser': ['pi'],
      }),
    ).toBe('allowed')
    expect(
      decide(both, 'ec2-instance-connect:SendSSHPublicKey', '*', {
        'aws:ResourceTag/site': ['home'],
        'ec2:osuser': ['root'],
      }),
    ).toBe('implicitDeny')
  })

  it('conditions with variables, ArnLike, ForAnyValue and ForAllValues', () => {
    const selfTag = policy(
      allow('ssm:StartSession', '*', {
        Condition: { StringEquals: { 'ssm:resourceTag/owner': '${aws:username}' } },
      }),
    )
    expect(decide(selfTag, 'ssm:StartSession', pi, { 'ssm:resourceTag/owner': ['sandbox-user'] })).toBe(
      'allowed',
    )
    expect(decide(selfTag, 'ssm:StartSession', pi, { 'ssm:resourceTag/owner': ['bob'] })).toBe('implicitDeny')
    const arn = policy(
      allow('ssm:StartSession', '*', {
        Condition: { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/sandbox-*' } },
      }),
    )
    expect(
      decide(arn, 'ssm:StartSession', pi, {
        'aws:PrincipalArn': ['arn:aws:iam::123456789012:user/sandbox-user'],
      }),
    ).toBe('allowed')
    const any = policy(
      allow('ssm:AddTagsToResource', '*', {
        Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['site'] } },
      }),
    )
    expect(decide(any, 'ssm:AddTagsToResource', pi, { 'aws:TagKeys': ['Name', 'site'] })).toBe('allowed')
    expect(decide(any, 'ssm:AddTagsToResource', pi, {})).toBe('implicitDeny')
    const all = policy(
      allow('ssm:AddTagsToResource', '*', {
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['site', 'Name'] } },
      }),
    )
    expect(decide(all, 'ssm:AddTagsToResource', pi, { 'aws:TagKeys': ['Name', 'site'] })).toBe('allowed')
    expect(decide(all, 'ssm:AddTagsToResource', pi, { 'aws:TagKeys': ['Name', 'owner'] })).toBe(
      'implicitDeny',
    )
    expect(decide(all, 'ssm:AddTagsToResource', pi, {})).toBe('allowed')
  })

  it('reports the matched statements and the condition keys the request lacked', () => {
    const p = policy(
      allow('ssm:StartSession', '*', { Condition: { StringEquals: { 'ssm:resourceTag/site': 'home' } } }),
      allow('ssm:Describe*'),
    )
    const r = evaluate([p], { action: 'ssm:StartSession', resource: pi, context: {} })
    expect(r).toMatchObject({ decision: 'implicitDeny', matched: [], missing: ['ssm:resourceTag/site'] })
    const ok = evaluate([p], { action: 'ssm:DescribeSessions', resource: '*', context: {} })
    expect(ok.matched.map((m) => m.statement.start)).toEqual([{ line: 14, column: 5 }])
  })
})

describe('parsePolicy', () => {
  it.each([
    ['not JSON', '{', /not JSON/],
    ['no Statement', '{"Version":"2012-10-17"}', /Statement/],
    ['a bad Effect', '{"Statement":[{"Effect":"Maybe","Action":"ssm:*","Resource":"*"}]}', /Effect/],
    [
      'Action and NotAction',
      '{"Statement":{"Effect":"Allow","Action":"ssm:*","NotAction":"ec2:*","Resource":"*"}}',
      /exactly one of Action/,
    ],
    ['no Resource', '{"Statement":{"Effect":"Allow","Action":"ssm:*"}}', /exactly one of Resource/],
    [
      'a Principal',
      '{"Statement":{"Effect":"Allow","Principal":"*","Action":"ssm:*","Resource":"*"}}',
      /principal/,
    ],
    [
      'an unknown operator',
      '{"Statement":{"Effect":"Allow","Action":"ssm:*","Resource":"*","Condition":{"StringSorta":{"a":"b"}}}}',
      /StringSorta/,
    ],
    [
      'an action without a service',
      '{"Statement":{"Effect":"Allow","Action":"StartSession","Resource":"*"}}',
      /service:Operation/,
    ],
    ['an unknown version', '{"Version":"2020-01-01","Statement":[]}', /Version/],
  ])('rejects %s', (_name, text, message) => {
    expect(() => parsePolicy(text)).toThrow(PolicyError)
    expect(() => parsePolicy(text)).toThrow(message)
  })
})
