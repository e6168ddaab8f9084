// doctor's findings for people (one line each: level, target, check, why, fix) or as JSON. Every
// part may carry text from the cloud or a host, so all of it goes through safeLabel.
import type { Finding } from '../domain/doctor/finding.ts'
import { safeLabel } from '../support/terminal-text.ts'

const LABEL = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const

export function findingLine(f: Finding, names: Map<string, string>): string {
  const name = f.target ? names.get(f.target) : undefined
  const where = f.target ? (name && name !== f.target ? `${name} (${f.target})` : f.target) : 'local'
  const fix = f.fix ? ` → ${f.fix}` : ''
  return safeLabel(`${LABEL[f.level]}  ${where}  ${f.check}: ${f.why}${fix}`)
}

export function printFindings(
  out: NodeJS.WritableStream,
  findings: Finding[],
  o: { json: boolean; names: Map<string, string> },
): void {
  if (o.json) {
    out.write(`${JSON.stringify(findings)}\n`)
    return
  }
  for (const f of findings) out.write(`${findingLine(f, o.names)}\n`)
}
