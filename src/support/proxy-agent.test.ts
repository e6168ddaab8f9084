import { afterEach, describe, expect, it } from 'vitest'
import { proxyAgentFor, proxyFor } from './proxy-agent.ts'

describe('which proxy a URL takes (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)', () => {
  const saved = { ...process.env }
  afterEach(() => {
    for (const k of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'])
      delete process.env[k]
    Object.assign(process.env, saved)
  })

  it('a wss:// data channel takes HTTPS_PROXY, as the plugin does (proxy-from-env looked for WSS_PROXY)', async () => {
    process.env.HTTPS_PROXY = 'http://proxy.corp:3128'
    expect(
      await proxyFor('wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/s?role=publish_subscribe'),
    ).toBe('http://proxy.corp:3128')
    expect(await proxyFor('https://ssm.eu-west-1.amazonaws.com')).toBe('http://proxy.corp:3128')
    expect(await proxyFor('http://127.0.0.1:4566')).toBeUndefined()
    expect(await proxyAgentFor('https://ssm.eu-west-1.amazonaws.com')).toBe(
      await proxyAgentFor('wss://x.amazonaws.com'),
    )
  })

  it('NO_PROXY: hosts, domain suffixes and * go direct', async () => {
    process.env.HTTPS_PROXY = 'http://proxy.corp:3128'
    process.env.NO_PROXY = '.amazonaws.com,10.0.0.1'
    expect(await proxyFor('https://ssm.eu-west-1.amazonaws.com')).toBeUndefined()
    expect(await proxyFor('https://10.0.0.1/x')).toBeUndefined()
    expect(await proxyFor('https://vpce-1.example.internal')).toBe('http://proxy.corp:3128')
    process.env.NO_PROXY = '*'
    expect(await proxyAgentFor('wss://anything')).toBeUndefined()
  })
})
