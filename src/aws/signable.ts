// The request shape SigV4 signs (@smithy/signature-v4's HttpRequest), from a URL: its host (port
// included), path and query string, plus our headers and body.
export interface Signable {
  method: string
  protocol: string
  hostname: string
  port?: number
  path: string
  query: Record<string, string | string[]>
  headers: Record<string, string>
  body?: string
}

export function signable(method: string, url: URL, headers: Record<string, string>, body?: string): Signable {
  const query: Record<string, string | string[]> = {}
  for (const [k, v] of url.searchParams) {
    const seen = query[k]
    query[k] = seen === undefined ? v : Array.isArray(seen) ? [...seen, v] : [seen, v]
  }
  return {
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: { host: url.host, ...headers },
    ...(body !== undefined ? { body } : {}),
  }
}
