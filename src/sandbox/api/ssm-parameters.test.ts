import type { Server } from 'node:http'
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersCommand,
  LabelParameterVersionCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SandboxState } from '../model.ts'
import { serveApi, testCredentials, testState } from './test-server.ts'

describe('Parameter Store with the real AWS SDK', () => {
  let state: SandboxState
  let server: Server
  let ssm: SSMClient
  beforeAll(async () => {
    state = testState(0, 1)
    let endpoint: string
    ;({ server, endpoint } = await serveApi(state))
    ssm = new SSMClient({ endpoint, region: 'eu-west-1', credentials: testCredentials, maxAttempts: 1 })
  })
  afterAll(() => server.close())
  const fails = (p: Promise<unknown>) =>
    p.then(
      () => ({ name: 'none', message: '' }),
      (e: Error) => e,
    )

  it('creates, refuses to overwrite without Overwrite, then versions the overwrite', async () => {
    const put = await ssm.send(new PutParameterCommand({ Name: '/app/db', Value: 'one', Type: 'String' }))
    expect(put).toMatchObject({ Version: 1, Tier: 'Standard' })
    const again = await fails(
      ssm.send(new PutParameterCommand({ Name: '/app/db', Value: 'two', Type: 'String' })),
    )
    expect(again.name).toBe('ParameterAlreadyExists')
    expect(again.message).toBe(
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
    )
    const over = await ssm.send(new PutParameterCommand({ Name: '/app/db', Value: 'two', Overwrite: true }))
    expect(over.Version).toBe(2)
    const got = await ssm.send(new GetParameterCommand({ Name: '/app/db' }))
    expect(got.Parameter).toMatchObject({
      Name: '/app/db',
      Value: 'two',
      Version: 2,
      Type: 'String',
      ARN: 'arn:aws:ssm:eu-west-1:123456789012:parameter/app/db',
    })
    expect((await ssm.send(new GetParameterCommand({ Name: '/app/db:1' }))).Parameter?.Value).toBe('one')
    const history = await ssm.send(new GetParameterHistoryCommand({ Name: '/app/db' }))
    expect(history.Parameters?.map((p) => [p.Version, p.Value])).toEqual([
      [1, 'one'],
      [2, 'two'],
    ])
    expect(history.Parameters?.[0]?.LastModifiedUser).toMatch(/^arn:aws:iam::123456789012:user\//)
  })

  it('hides a SecureString value unless WithDecryption', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/app/secret', Value: 'hunter2', Type: 'SecureString' }))
    const hidden = (await ssm.send(new GetParameterCommand({ Name: '/app/secret' }))).Parameter?.Value ?? ''
    expect(hidden).not.toContain('hunter2')
    expect(hidden).toMatch(/^AQICAH/)
    const shown = await ssm.send(new GetParameterCommand({ Name: '/app/secret', WithDecryption: true }))
    expect(shown.Parameter?.Value).toBe('hunter2')
    const history = await ssm.send(new GetParameterHistoryCommand({ Name: '/app/secret' }))
    expect(history.Parameters?.[0]).toMatchObject({ KeyId: 'alias/aws/ssm', Type: 'SecureString' })
    expect(history.Parameters?.[0]?.Value).not.toContain('hunter2')
    const plainKey = await fails(
      ssm.send(new PutParameterCommand({ Name: '/app/k', Value: 'v', Type: 'String', KeyId: 'alias/x' })),
    )
    expect(plainKey.name).toBe('ValidationException')
  })

  it('rejects bad and reserved names, Tags with Overwrite, and a missing type as AWS does', async () => {
    const bad = await fails(ssm.send(new PutParameterCommand({ Name: '/a b', Value: 'v', Type: 'String' })))
    expect(bad.name).toBe('ValidationException')
    expect(bad.message).toMatch(/^Parameter name: can't be prefixed with "ssm"/)
    expect(
      (await fails(ssm.send(new PutParameterCommand({ Name: 'ssm-x', Value: 'v', Type: 'String' })))).name,
    ).toBe('ValidationException')
    const reserved = await fails(
      ssm.send(new PutParameterCommand({ Name: '/aws/x', Value: 'v', Type: 'String' })),
    )
    expect(reserved).toMatchObject({
      name: 'AccessDeniedException',
      message: 'No access to reserved parameter name: /aws/x.',
    })
    const relative = await fails(
      ssm.send(new PutParameterCommand({ Name: 'a/b', Value: 'v', Type: 'String' })),
    )
    expect(relative.name).toBe('ValidationException')
    const deep = `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join('/')}`
    expect(
      (await fails(ssm.send(new PutParameterCommand({ Name: deep, Value: 'v', Type: 'String' })))).name,
    ).toBe('HierarchyLevelLimitExceededException')
    const both = await fails(
      ssm.send(
        new PutParameterCommand({
          Name: '/t',
          Value: 'v',
          Type: 'String',
          Overwrite: true,
          Tags: [{ Key: 'a', Value: 'b' }],
        }),
      ),
    )
    expect(both.message).toMatch(/^Invalid request: tags and overwrite can't be used together/)
    expect((await fails(ssm.send(new PutParameterCommand({ Name: '/untyped', Value: 'v' })))).name).toBe(
      'ValidationException',
    )
    const big = await fails(
      ssm.send(new PutParameterCommand({ Name: '/big', Value: 'x'.repeat(4097), Type: 'String' })),
    )
    expect(big.name).toBe('ValidationException')
    expect(
      (
        await ssm.send(
          new PutParameterCommand({
            Name: '/big',
            Value: 'x'.repeat(4097),
            Type: 'String',
            Tier: 'Advanced',
          }),
        )
      ).Tier,
    ).toBe('Advanced')
  })

  it('keeps the newest 100 versions', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/many', Value: 'v1', Type: 'String' }))
    for (let i = 2; i <= 105; i++)
      await ssm.send(new PutParameterCommand({ Name: '/many', Value: `v${i}`, Overwrite: true }))
    const versions: number[] = []
    let NextToken: string | undefined
    do {
      const page = await ssm.send(
        new GetParameterHistoryCommand({ Name: '/many', MaxResults: 50, NextToken }),
      )
      versions.push(...(page.Parameters ?? []).map((p) => p.Version as number))
      NextToken = page.NextToken
    } while (NextToken)
    expect(versions.length).toBe(100)
    expect(versions[0]).toBe(6)
    expect(versions.at(-1)).toBe(105)
    expect((await fails(ssm.send(new GetParameterCommand({ Name: '/many:5' })))).name).toBe(
      'ParameterVersionNotFound',
    )
    // a label on the oldest version stops the 101st write, and the parameter stays as it was
    const labelled = await ssm.send(
      new LabelParameterVersionCommand({
        Name: '/many',
        ParameterVersion: 6,
        Labels: ['keep', 'ssm-no', '9no'],
      }),
    )
    expect(labelled).toMatchObject({ ParameterVersion: 6, InvalidLabels: ['ssm-no', '9no'] })
    const refused = await fails(
      ssm.send(new PutParameterCommand({ Name: '/many', Value: 'v106', Overwrite: true })),
    )
    expect(refused.name).toBe('ParameterMaxVersionLimitExceeded')
    expect(refused.message).toContain(
      "Version 6, the oldest version, can't be deleted because it has a label",
    )
    expect((await ssm.send(new GetParameterCommand({ Name: '/many' }))).Parameter?.Version).toBe(105)
    // moving the label to the newest version lets the write through, dropping version 6
    await ssm.send(new LabelParameterVersionCommand({ Name: '/many', Labels: ['keep'] }))
    expect(
      (await ssm.send(new PutParameterCommand({ Name: '/many', Value: 'v106', Overwrite: true }))).Version,
    ).toBe(106)
    const history = await ssm.send(new GetParameterHistoryCommand({ Name: '/many', MaxResults: 1 }))
    expect(history.Parameters?.[0]?.Version).toBe(7)
  })

  it('gets several, deletes, and answers ParameterNotFound', async () => {
    await ssm.send(new PutParameterCommand({ Name: 'plain', Value: 'p', Type: 'StringList' }))
    const both = await ssm.send(new GetParametersCommand({ Names: ['plain', '/nope'] }))
    expect(both.Parameters?.map((p) => p.Name)).toEqual(['plain'])
    expect(both.InvalidParameters).toEqual(['/nope'])
    await ssm.send(new DeleteParameterCommand({ Name: 'plain' }))
    expect((await fails(ssm.send(new DeleteParameterCommand({ Name: 'plain' })))).name).toBe(
      'ParameterNotFound',
    )
    expect((await fails(ssm.send(new GetParameterCommand({ Name: 'plain' })))).name).toBe('ParameterNotFound')
    // a re-created name starts again at version 1
    expect(
      (await ssm.send(new PutParameterCommand({ Name: 'plain', Value: 'q', Type: 'String' }))).Version,
    ).toBe(1)
    const described = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: ['/app/'] }],
      }),
    )
    expect(described.Parameters?.map((p) => p.Name)).toEqual(['/app/db', '/app/secret'])
  })

  it('tags a parameter on create and with AddTagsToResource', async () => {
    await ssm.send(
      new PutParameterCommand({
        Name: '/tagged',
        Value: 'v',
        Type: 'String',
        Tags: [{ Key: 'team', Value: 'pi' }],
      }),
    )
    await ssm.send(
      new AddTagsToResourceCommand({
        ResourceType: 'Parameter',
        ResourceId: '/tagged',
        Tags: [{ Key: 'x', Value: 'y' }],
      }),
    )
    const tags = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/tagged' }),
    )
    expect(tags.TagList).toEqual([
      { Key: 'team', Value: 'pi' },
      { Key: 'x', Value: 'y' },
    ])
    const missing = await fails(
      ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/no' })),
    )
    expect(missing.name).toBe('InvalidResourceId')
  })
})
