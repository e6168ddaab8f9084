// Where SSM requests go, as the SDK decides it without SSMClient (ssm-target.ts): what the fleet
// cache key, the plugin fallback and the native path are told.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withEnv } from '../../test/helpers/with-env.ts'
import { AuthError } from '../support/errors.ts'
import { createAwsClients } from './clients.ts'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = '1'

let dir: string
const keys = { accessKeyId: 'AKIAEXAMPLEEXAMPLE00', secretAccessKey: 'secret' }
const CLEAN = {
  AWS_ENDPOINT_URL: undefined,
  AWS_ENDPOINT_URL_SSM: undefined,
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
  AWS_PROFILE: undefined,
  AWS_USE_FIPS_ENDPOINT: undefined,
  AWS_USE_DUALSTACK_ENDPOINT: undefined,
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssm-ssh-clients-test-'))
})
afterAll(async () => rm(dir, { recursive: true, force: true }))

/** The SDK sees only these variables of ours, and empty AWS files. */
const cleanEnv = <T>(vars: Record<string, string | undefined>, body: () => Promise<T>) =>
  withEnv(
    { ...CLEAN, AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), ...vars },
    body,
  )

describe('AwsClients: region, endpoint and credentials without SSMClient', () => {
  it('nothing configured: no endpoint of the user, requests to the regional one', async () => {
    await cleanEnv({ AWS_REGION: 'eu-west-1' }, async () => {
      const clients = createAwsClients({ credentials: keys })
      expect(await clients.region()).toBe('eu-west-1')
      expect(await clients.endpoint()).toBeUndefined()
      expect(await clients.ssmUrl()).toBe('https://ssm.eu-west-1.amazonaws.com')
      expect(await clients.credentials()).toEqual(keys)
    })
  })

  it('follows SSM’s endpoint rules: FIPS, dual-stack and the China partition', async () => {
    await cleanEnv({ AWS_REGION: 'us-east-1', AWS_USE_FIPS_ENDPOINT: 'true' }, async () => {
      expect(await createAwsClients({}).ssmUrl()).toBe('https://ssm-fips.us-east-1.amazonaws.com')
    })
    await cleanEnv({ AWS_USE_DUALSTACK_ENDPOINT: 'true' }, async () => {
      expect(await createAwsClients({ region: 'eu-central-1' }).ssmUrl()).toBe(
        'https://ssm.eu-central-1.api.aws',
      )
    })
    await cleanEnv({}, async () => {
      expect(await createAwsClients({ region: 'cn-north-1' }).ssmUrl()).toBe(
        'https://ssm.cn-north-1.amazonaws.com.cn',
      )
    })
  })

  it('an endpoint from AWS_ENDPOINT_URL(_SSM) or the profile is the user’s too (cache key, plugin)', async () => {
    await cleanEnv({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }, async () => {
      const clients = createAwsClients({})
      expect(await clients.endpoint()).toBe('http://127.0.0.1:4566')
      expect(await clients.ssmUrl()).toBe('http://127.0.0.1:4566')
    })
    await cleanEnv(
      {
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
        AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:4577',
      },
      async () => {
        expect(await createAwsClients({}).endpoint()).toBe('http://127.0.0.1:4577')
      },
    )
    const config = join(dir, 'aws-config')
    await writeFile(config, '[profile lab]\nregion = eu-north-1\nendpoint_url = http://127.0.0.1:4588\n')
    await cleanEnv({ AWS_CONFIG_FILE: config, AWS_PROFILE: 'lab' }, async () => {
      const clients = createAwsClients({ profile: 'lab' })
      expect(await clients.region()).toBe('eu-north-1')
      expect(await clients.endpoint()).toBe('http://127.0.0.1:4588')
    })
    // --profile P (no AWS_PROFILE) takes P's endpoint_url and its services section (the SDK's own
    // lookup reads AWS_PROFILE's only, so --profile lost it)
    // (a file of its own: the SDK caches what it parsed of each path)
    const profiles = join(dir, 'aws-config-profiles')
    await writeFile(
      profiles,
      '[profile lab]\nregion = eu-north-1\nendpoint_url = http://127.0.0.1:4588\n[profile vpc]\nregion = eu-west-1\nservices = vpce\n[services vpce]\nssm =\n  endpoint_url = https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com\n[profile off]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:4599\nignore_configured_endpoint_urls = true\n',
    )
    await cleanEnv({ AWS_CONFIG_FILE: profiles }, async () => {
      expect(await createAwsClients({ profile: 'lab' }).endpoint()).toBe('http://127.0.0.1:4588')
      expect(await createAwsClients({ profile: 'vpc' }).endpoint()).toBe(
        'https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com',
      )
      expect(await createAwsClients({ profile: 'off' }).endpoint()).toBeUndefined()
    })
    // --endpoint-url wins over the environment
    await cleanEnv({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }, async () => {
      expect(await createAwsClients({ endpoint: 'http://127.0.0.1:9999' }).endpoint()).toBe(
        'http://127.0.0.1:9999',
      )
    })
  })

  it('no region: an AuthError that says how to set one', async () => {
    await cleanEnv({}, async () => {
      const error = await createAwsClients({ credentials: keys })
        .region()
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AuthError)
      expect((error as AuthError).message).toBe('no AWS region is configured')
    })
  })
})
