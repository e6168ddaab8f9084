// ssm-ssh doctor --json run against a sandbox, as the e2e tests read it.
import { execa } from 'execa'
import { cli, type World } from './e2e.ts'

export interface Finding {
  check: string
  target?: string
  level: 'ok' | 'warn' | 'fail'
  why: string
  fix: string
}

/** The sandbox's real agents dial it here (real/agent-config.ts): expected, not a finding. */
export const SANDBOX_ENDPOINT = 'https://127.0.0.1:443'

export async function runDoctor(w: World, args: string[]) {
  const started = Date.now()
  const r = await execa(
    process.execPath,
    [cli, 'doctor', '--json', '--expect-endpoint', SANDBOX_ENDPOINT, ...args],
    { env: w.env, extendEnv: false, reject: false, timeout: 90_000 },
  )
  const ms = Date.now() - started
  let findings: Finding[] = []
  try {
    findings = JSON.parse(String(r.stdout)) as Finding[]
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.exitCode}): ${r.stdout}\n${r.stderr}`)
  }
  return { exitCode: r.exitCode, findings, stderr: String(r.stderr), stdout: String(r.stdout), ms }
}
