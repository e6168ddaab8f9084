import { describe, expect, it } from 'vitest'
import { verifySignature } from '../sandbox/api/sigv4.ts'
import { callerCredential } from '../sandbox/credentials.ts'
import type { AwsClients } from './clients.ts'
import { isPresigned, upgradeHeaders } from './stream-signing.ts'

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }
const clients = { credentials: async () => creds, region: async () => 'eu-west-1' } as unknown as AwsClients

describe('the data channel upgrade is signed for ssmmessages', () => {
  it('with a signature the service-side check accepts, query string included', async () => {
    const url =
      'wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/u-1?role=publish_subscribe&cell-number=AAE%3D'
    const headers = await upgradeHeaders(clients, url)
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ssmmessages\//,
    )
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
    const { service } = verifySignature(
      {
        method: 'GET',
        path: '/v1/data-channel/u-1',
        query: 'role=publish_subscribe&cell-number=AAE%3D',
        headers: { ...lower, host: 'ssmmessages.eu-west-1.amazonaws.com' },
        body: Buffer.alloc(0),
      },
      {
        credentials: new Map([
          [creds.accessKeyId, callerCredential('123456789012', creds.accessKeyId, creds.secretAccessKey)],
        ]),
      },
      'json',
      new Date(),
    )
    expect(service).toBe('ssmmessages')
  })

  it('not when the StreamUrl is presigned', async () => {
    const url = 'wss://h/v1/data-channel/u-1?role=publish_subscribe&X-Amz-Signature=abc&X-Amz-Date=x'
    expect(isPresigned(new URL(url))).toBe(true)
    expect(await upgradeHeaders(clients, url)).toEqual({})
  })
})
