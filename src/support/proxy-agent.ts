// HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as the AWS CLI and the plugin (Go's ProxyFromEnvironment)
// honour them: API calls and the data channel's websocket go through an HTTP CONNECT proxy where
// the environment names one, and directly for the hosts NO_PROXY lists. proxy-from-env reads the
// variables (both cases, NO_PROXY's host, domain, port and * forms); https-proxy-agent speaks CONNECT.
import type { Agent } from 'node:http'
import { HttpsProxyAgent } from 'https-proxy-agent'
import { getProxyForUrl } from 'proxy-from-env'

const agents = new Map<string, Agent>()

/** The proxy URL for `url` (its scheme decides: https/wss → HTTPS_PROXY, http/ws → HTTP_PROXY), if any. */
export function proxyFor(url: string): string | undefined {
  // a websocket takes the proxy of its HTTP scheme, as gorilla's dialer (the plugin's) does;
  // proxy-from-env itself would look for WSS_PROXY. It reads process.env.
  return getProxyForUrl(url.replace(/^ws(s?):/, 'http$1:')) || undefined
}

/** A CONNECT agent for `url`'s proxy (one per proxy, shared), or undefined to go direct. */
export function proxyAgentFor(url: string): Agent | undefined {
  const proxy = proxyFor(url)
  if (!proxy) return undefined
  let agent = agents.get(proxy)
  if (!agent) {
    agent = new HttpsProxyAgent(proxy, { keepAlive: true }) as unknown as Agent
    agents.set(proxy, agent)
  }
  return agent
}
