// HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as the AWS CLI and the plugin (Go's ProxyFromEnvironment)
// honour them: API calls and the data channel's websocket go through an HTTP CONNECT proxy where
// the environment names one, and directly for the hosts NO_PROXY lists. proxy-from-env reads the
// variables (both cases, NO_PROXY's host, domain, port and * forms); https-proxy-agent speaks CONNECT.
// Both load only when a proxy variable is set: `proxy` starts on every ssh, and most machines have none.
import type { Agent } from 'node:http'

const PROXY_VARIABLES = ['https_proxy', 'http_proxy', 'all_proxy'].flatMap((v) => [v, v.toUpperCase()])
const agents = new Map<string, Agent>()

function anyProxySet(): boolean {
  return PROXY_VARIABLES.some((v) => process.env[v] || process.env[`npm_config_${v.toLowerCase()}`])
}

/** The proxy URL for `url` (its scheme decides: https/wss → HTTPS_PROXY, http/ws → HTTP_PROXY), if any. */
export async function proxyFor(url: string): Promise<string | undefined> {
  if (!anyProxySet()) return undefined
  const { getProxyForUrl } = await import('proxy-from-env')
  // a websocket takes the proxy of its HTTP scheme, as gorilla's dialer (the plugin's) does;
  // proxy-from-env itself would look for WSS_PROXY. It reads process.env.
  return getProxyForUrl(url.replace(/^ws(s?):/, 'http$1:')) || undefined
}

/** A CONNECT agent for `url`'s proxy (one per proxy, shared), or undefined to go direct. */
export async function proxyAgentFor(url: string): Promise<Agent | undefined> {
  const proxy = await proxyFor(url)
  if (!proxy) return undefined
  let agent = agents.get(proxy)
  if (!agent) {
    const { HttpsProxyAgent } = await import('https-proxy-agent')
    agent = new HttpsProxyAgent(proxy, { keepAlive: true }) as unknown as Agent
    agents.set(proxy, agent)
  }
  return agent
}
