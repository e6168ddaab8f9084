// Hybrid registration on the wire, as amazon-ssm-agent sends it: RegisterManagedInstance unsigned,
// RequestManagedInstanceRoleToken RSA-PSS-signed with the key it registered, and the errors AWS gives
// for a bad activation, a bad signature, a wrong fingerprint and a deregistered node.
import { constants, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import type { Server } from 'node:http'
import {
  DeregisterManagedInstanceCommand,
  DescribeInstanceInformationCommand,
  SSMClient,
} from '@aws-sdk/client-ssm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SandboxState, SimActivation } from '../model.ts'
import { stringToSign } from './sigv4.ts'
import { serveApi, testCredentials, testState } from './test-server.ts'

interface NodeKey {
  privateKey: KeyObject
  /** as the agent sends it: base64 DER SubjectPublicKeyInfo */
  publicKey: string
}

function nodeKey(): NodeKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { privateKey, publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') }
}

const amzDate = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')

function activation(over: Partial<SimActivation> = {}): SimActivation {
  return {
    activationId: '0b2f3a10-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
    activationCode: 'Abcdefghij0123456789XYZ',
    defaultInstanceName: 'pis',
    iamRole: 'service-role/SSMServiceRole',
    registrationLimit: 2,
    registrationsCount: 0,
    expirationDate: new Date(Date.now() + 86_400_000),
    createdDate: new Date(),
    tags: new Map([['site', 'home']]),
    ...over,
  }
}

describe('hybrid registration as the agent does it', () => {
  let state: SandboxState
  let server: Server
  let endpoint: string
  beforeAll(async () => {
    state = testState(4, 1)
    ;({ server, endpoint } = await serveApi(state))
  })
  afterAll(() => server.close())

  /** One SSM JSON call, as the agent's SDK sends it; signed with `key` as rsaauth does when given. */
  async function call(op: string, body: unknown, signer?: { id: string; key: KeyObject; tamper?: boolean }) {
    const text = JSON.stringify(body)
    const now = new Date()
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.1',
      host: new URL(endpoint).host,
      'x-amz-date': amzDate(now),
      'x-amz-target': `AmazonSSM.${op}`,
    }
    if (signer) {
      const signedHeaders = 'content-type;host;x-amz-date;x-amz-target'
      const date = amzDate(now).slice(0, 8)
      const toSign = stringToSign(
        { method: 'POST', path: '/', headers, body: Buffer.from(signer.tamper ? `${text} ` : text) },
        {
          amzDate: headers['x-amz-date'] as string,
          date,
          region: 'eu-west-1',
          service: 'ssm',
          signedHeaders,
        },
      )
      // agent/managedInstances/auth/rsa_key.go: SHA-256 digest, PSS with a 32-byte salt, base64
      const signature = sign('sha256', Buffer.from(toSign), {
        key: signer.key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      }).toString('base64')
      headers.authorization = `AWS4-HMAC-SHA256 Credential=${signer.id}/${date}/eu-west-1/ssm/aws4_request, SignedHeaders=${signedHeaders}, Signature=${signature}`
    }
    const res = await fetch(endpoint, { method: 'POST', headers, body: text })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  const register = (a: SimActivation, key: NodeKey, over: Record<string, unknown> = {}) =>
    call('RegisterManagedInstance', {
      ActivationCode: a.activationCode,
      ActivationId: a.activationId,
      PublicKey: key.publicKey,
      PublicKeyType: 'Rsa',
      Fingerprint: 'f1a2b3c4-0000-4000-8000-000000000001',
      ...over,
    })

  it('registers a node unsigned: a new mi- id with the activation’s name, role and tags', async () => {
    const a = activation()
    state.activations.set(a.activationId, a)
    const key = nodeKey()
    const res = await register(a, key)
    expect(res.status).toBe(200)
    const id = String(res.body.InstanceId)
    expect(id).toMatch(/^mi-[0-9a-f]{17}$/)
    const node = state.instances.get(id)
    expect(node).toMatchObject({
      kind: 'hybrid',
      ssmName: 'pis',
      iamRole: 'service-role/SSMServiceRole',
      activationId: a.activationId,
      resourceType: 'ManagedInstance',
      agent: 'real',
    })
    expect(node?.tags.get('site')).toBe('home')
    expect(a.registrationsCount).toBe(1)
  })

  it('refuses a wrong code, an unknown id, an expired activation and a full one with AWS’s codes', async () => {
    const a = activation({ activationId: '1b2f3a10-4c5d-4e6f-8a9b-0c1d2e3f4a5b', registrationLimit: 1 })
    state.activations.set(a.activationId, a)
    const key = nodeKey()
    const wrong = await register(a, key, { ActivationCode: 'Zbcdefghij0123456789XYZ' })
    expect(wrong).toMatchObject({ status: 400, body: { __type: 'InvalidActivation' } })
    const unknown = await register(a, key, { ActivationId: '2b2f3a10-4c5d-4e6f-8a9b-0c1d2e3f4a5b' })
    expect(unknown.body.__type).toBe('InvalidActivation')
    expect((await register(a, key)).status).toBe(200)
    const full = await register(a, key)
    expect(full).toMatchObject({ status: 400, body: { __type: 'RegistrationLimitExceeded', message: '' } })
    expect(a.registrationsCount).toBe(1)
    const old = activation({
      activationId: '3b2f3a10-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
      expirationDate: new Date(Date.now() - 1000),
    })
    state.activations.set(old.activationId, old)
    expect((await register(old, key)).body).toEqual({ __type: 'ActivationExpired', message: '' })
    const badKey = await register(activation(), key, { PublicKey: Buffer.alloc(400, 7).toString('base64') })
    expect(badKey.body.__type).toBe('InvalidPublicKey')
    const short = await register(activation(), key, { PublicKey: 'abc' })
    expect(short.body.__type).toBe('ValidationException')
  })

  it('answers a token request signed with the registered key, and the credentials sign SSM calls', async () => {
    const a = activation({ activationId: '4b2f3a10-4c5d-4e6f-8a9b-0c1d2e3f4a5b' })
    state.activations.set(a.activationId, a)
    const key = nodeKey()
    const id = String((await register(a, key)).body.InstanceId)
    const fingerprint = 'f1a2b3c4-0000-4000-8000-000000000001'
    const res = await call(
      'RequestManagedInstanceRoleToken',
      { Fingerprint: fingerprint },
      { id, key: key.privateKey },
    )
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ UpdateKeyPair: false })
    expect(String(res.body.AccessKeyId)).toMatch(/^ASIA/)
    expect(Number(res.body.TokenExpirationDate) * 1000).toBeGreaterThan(Date.now() + 3000_000)
    const issued = state.credentials.get(String(res.body.AccessKeyId))
    expect(issued?.principal).toMatchObject({ kind: 'instance', instanceId: id })
    expect(issued?.principal.arn).toBe(`arn:aws:sts::123456789012:assumed-role/SSMServiceRole/${id}`)
    const asNode = new SSMClient({
      endpoint,
      region: 'eu-west-1',
      maxAttempts: 1,
      credentials: {
        accessKeyId: String(res.body.AccessKeyId),
        secretAccessKey: String(res.body.SecretAccessKey),
        sessionToken: String(res.body.SessionToken),
      },
    })
    await expect(asNode.send(new DescribeInstanceInformationCommand({}))).resolves.toBeDefined()
  })

  it('refuses another key’s signature, a tampered body and a wrong fingerprint', async () => {
    const a = activation({ activationId: '5b2f3a10-4c5d-4e6f-8a9b-0c1d2e3f4a5b' })
    state.activations.set(a.activationId, a)
    const key = nodeKey()
    const id = String((await register(a, key)).body.InstanceId)
    const fingerprint = { Fingerprint: 'f1a2b3c4-0000-4000-8000-000000000001' }
    const other = nodeKey()
    const forged = await call('RequestManagedInstanceRoleToken', fingerprint, { id, key: other.privateKey })
    expect(forged).toMatchObject({ status: 400, body: { __type: 'InvalidSignatureException' } })
    const tampered = await call('RequestManagedInstanceRoleToken', fingerprint, {
      id,
      key: key.privateKey,
      tamper: true,
    })
    expect(tampered.body.__type).toBe('InvalidSignatureException')
    const unsigned = await call('RequestManagedInstanceRoleToken', fingerprint)
    expect(unsigned.body.__type).toBe('MissingAuthenticationTokenException')
    const clone = await call(
      'RequestManagedInstanceRoleToken',
      { Fingerprint: 'another-machine' },
      { id, key: key.privateKey },
    )
    expect(clone.body).toEqual({ __type: 'MachineFingerprintDoesNotMatch', message: '' })
    // a rotated key: the new one signs from then on, the old one no longer does
    const next = nodeKey()
    const rotate = await call(
      'UpdateManagedInstancePublicKey',
      { NewPublicKey: next.publicKey, NewPublicKeyType: 'Rsa' },
      { id, key: key.privateKey },
    )
    expect(rotate).toEqual({ status: 200, body: {} })
    expect(
      (await call('RequestManagedInstanceRoleToken', fingerprint, { id, key: next.privateKey })).status,
    ).toBe(200)
    expect(
      (await call('RequestManagedInstanceRoleToken', fingerprint, { id, key: key.privateKey })).status,
    ).toBe(400)
  })

  it('after DeregisterManagedInstance the node’s token requests and keys fail, as on AWS', async () => {
    const a = activation({ activationId: '6b2f3a10-4c5d-4e6f-8a9b-0c1d2e3f4a5b' })
    state.activations.set(a.activationId, a)
    const key = nodeKey()
    const id = String((await register(a, key)).body.InstanceId)
    const fingerprint = { Fingerprint: 'f1a2b3c4-0000-4000-8000-000000000001' }
    const token = await call('RequestManagedInstanceRoleToken', fingerprint, { id, key: key.privateKey })
    const caller = new SSMClient({
      endpoint,
      region: 'eu-west-1',
      maxAttempts: 1,
      credentials: testCredentials,
    })
    await caller.send(new DeregisterManagedInstanceCommand({ InstanceId: id }))
    expect(state.instances.has(id)).toBe(false)
    expect(state.credentials.has(String(token.body.AccessKeyId))).toBe(false)
    const after = await call('RequestManagedInstanceRoleToken', fingerprint, { id, key: key.privateKey })
    expect(after.body).toEqual({ __type: 'InvalidInstanceId', Message: `Not existing InstanceId ${id}` })
    await expect(caller.send(new DeregisterManagedInstanceCommand({ InstanceId: id }))).rejects.toMatchObject(
      {
        name: 'InvalidInstanceId',
      },
    )
  })
})
