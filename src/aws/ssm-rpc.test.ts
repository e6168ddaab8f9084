// ssm-rpc against the in-process sandbox, which verifies every SigV4 signature: the session calls,
// AWS's errors as the SDK names them, retries, and where endpoint and region come from.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withEnv } from '../../test/helpers/with-env.ts'
import { parseFaults } from '../sandbox/faults.ts'
import { type Sandbox, startSandbox } from '../sandbox/sandbox.ts'
import { AuthError, SessionError, TargetError } from '../support/errors.ts'
import { createAwsClients } from './clients.ts'
import { startSession, terminateSession } from './sessions.ts'
import { createSsmCall, type ServiceError } from './ssm-rpc.ts'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = '1'
process.env.AWS_EC2_METADATA_DISABLED = 'true'

let box: Sandbox
let dir: string
const fast = { retryDelayMs: () => 1 }
const settingsFor = (b: Sandbox, secret = b.secretAccessKey) => ({
  endpoint: b.endpoint,
  region: b.region,
  credentials: { accessKeyId: b.accessKeyId, secretAccessKey: secret },
})
const onlineId = (b: Sandbox) =>
  [...b.state.instances.values()].find((i) => i.pingStatus === 'Online' && i.id.startsWith('mi-'))
    ?.id as string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssm-ssh-rpc-test-'))
  box = await startSandbox({ stateDir: join(dir, 'sandbox') })
})
afterAll(async () => {
  await box.close()
  await rm(dir, { recursive: true, force: true })
})

describe('ssm-rpc', () => {
  it('starts and terminates a session; the sandbox accepted the signatures', async () => {
    const clients = createAwsClients(settingsFor(box))
    const id = onlineId(box)
    const ticket = await startSession(clients, {
      target: id,
      documentName: 'AWS-StartSSHSession',
      parameters: { portNumber: ['22'] },
      reason: 'ssm-ssh: test',
    })
    expect(ticket.streamUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\//)
    const sim = box.state.sessions.get(ticket.sessionId)
    expect(sim).toMatchObject({ target: id, reason: 'ssm-ssh: test', parameters: { portNumber: ['22'] } })
    await terminateSession(clients, ticket.sessionId)
    expect(box.state.sessions.get(ticket.sessionId)?.status).toMatch(/Terminat/)
  })

  it('names AWS errors as the SDK does, so they translate the same', async () => {
    const call = createSsmCall(settingsFor(box), fast)
    const unknown = await call('StartSession', {
      Target: 'mi-00000000000000000',
      DocumentName: 'AWS-StartSSHSession',
    }).catch((e: ServiceError) => e)
    expect(unknown).toMatchObject({ $fault: 'client', $metadata: { httpStatusCode: 400, attempts: 1 } })
    expect((unknown as ServiceError).$metadata.requestId).toBeTruthy()
    const clients = createAwsClients(settingsFor(box))
    await expect(
      startSession(clients, { target: 'mi-00000000000000000', documentName: 'AWS-StartSSHSession' }),
    ).rejects.toBeInstanceOf(TargetError)
    const wrongKey = createAwsClients(settingsFor(box, 'not-the-secret'))
    const refused = await startSession(wrongKey, {
      target: onlineId(box),
      documentName: 'AWS-StartSSHSession',
    }).catch((e: Error) => e)
    expect(refused).toBeInstanceOf(AuthError)
    expect((refused as AuthError).message).toContain('InvalidSignatureException')
  })

  it('retries throttled calls with the SDK’s classification', async () => {
    const throttled = await startSandbox({
      faults: parseFaults('throttle=0.6'),
      seed: 7,
      stateDir: join(dir, 'thr'),
    })
    try {
      const call = createSsmCall({ ...settingsFor(throttled), maxAttempts: 20 }, fast)
      for (let i = 0; i < 5; i++) await call('DescribeSessions', { State: 'Active' })
      const refused = throttled.state.requests.filter((r) => r.status >= 400)
      expect(refused.length).toBeGreaterThan(0)
      expect(new Set(refused.map((r) => r.errorCode))).toEqual(new Set(['ThrottlingException']))
    } finally {
      await throttled.close()
    }
  })

  it('takes the endpoint from AWS_ENDPOINT_URL and the region from AWS_REGION, as SSMClient does', async () => {
    await withEnv(
      { AWS_ENDPOINT_URL: box.endpoint, AWS_REGION: box.region, AWS_PROFILE: undefined },
      async () => {
        const call = createSsmCall({ credentials: settingsFor(box).credentials }, fast)
        expect(await call('DescribeSessions', { State: 'History' })).toHaveProperty('Sessions')
      },
    )
  })

  it('with --profile: keys, region and endpoint_url from the AWS files, through the SDK’s full chain', async () => {
    const config = join(dir, 'aws-config')
    const credentials = join(dir, 'aws-credentials')
    await writeFile(config, `[profile pis]\nregion = ${box.region}\nendpoint_url = ${box.endpoint}\n`)
    await writeFile(
      credentials,
      `[pis]\naws_access_key_id = ${box.accessKeyId}\naws_secret_access_key = ${box.secretAccessKey}\n`,
    )
    const env = {
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_PROFILE: 'pis', // the SDK reads endpoint_url from AWS_PROFILE's section, as SSMClient does
      AWS_REGION: undefined,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_ENDPOINT_URL: undefined,
    }
    await withEnv(env, async () => {
      const call = createSsmCall({ profile: 'pis' }, fast)
      expect(await call('DescribeSessions', { State: 'History' })).toHaveProperty('Sessions')
    })
  })

  it('gives up on an endpoint that accepts and never answers: timed-out attempts, then the deadline', async () => {
    const sockets = new Set<Socket>()
    const silent = createServer((socket) => {
      sockets.add(socket)
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    try {
      const { port } = silent.address() as AddressInfo
      const call = createSsmCall(
        { ...settingsFor(box), endpoint: `http://127.0.0.1:${port}`, maxAttempts: 50 },
        { retryDelayMs: () => 10, timeoutMs: 150, deadlineMs: 600 },
      )
      const t0 = Date.now()
      const error = (await call('StartSession', { Target: onlineId(box) }).then(
        () => undefined,
        (e: ServiceError) => e,
      )) as ServiceError
      expect(error).toMatchObject({ code: 'ETIMEDOUT' })
      expect(error.$metadata.attempts).toBeGreaterThan(1)
      expect(Date.now() - t0).toBeLessThan(1_500)
      expect(sockets.size).toBe(error.$metadata.attempts)
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise((r) => silent.close(r))
    }
  })

  it('says when no region is configured, and when the endpoint does not answer', async () => {
    const empty = join(dir, 'no-such-file')
    await withEnv(
      {
        AWS_REGION: undefined,
        AWS_DEFAULT_REGION: undefined,
        AWS_CONFIG_FILE: empty,
        AWS_SHARED_CREDENTIALS_FILE: empty,
      },
      async () => {
        const clients = createAwsClients({
          endpoint: box.endpoint,
          credentials: settingsFor(box).credentials,
        })
        await expect(
          startSession(clients, { target: onlineId(box), documentName: 'AWS-StartSSHSession' }),
        ).rejects.toThrow('no AWS region is configured')
      },
    )
    const closed = createAwsClients({ ...settingsFor(box), endpoint: 'http://127.0.0.1:9', maxAttempts: 2 })
    await expect(
      startSession(closed, { target: onlineId(box), documentName: 'AWS-StartSSHSession' }),
    ).rejects.toBeInstanceOf(SessionError)
  })
})
