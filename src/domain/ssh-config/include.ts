// The two lines ssm-ssh adds to the user's ~/.ssh/config, and the marked blocks of its own file.
// Text in, text out, byte for byte: nothing of the user's is parsed and re-printed, so --remove
// gives back exactly the file that was there.
import { quoteConfigArg } from './sanitize.ts'

export const MARKER =
  "# ssm-ssh: the next line includes ssm-ssh's stanzas; `ssm-ssh config --remove` takes both out"

const eolOf = (text: string) => (text.includes('\r\n') ? '\r\n' : '\n')

export function includeLines(ourFile: string, eol = '\n'): string {
  return `${MARKER}${eol}Include ${quoteConfigArg(ourFile)}${eol}`
}

/**
 * Put our Include at the very top: before the first Host or Match (an Include inside a block is
 * scoped to it), and before any option, which is harmless since our file holds only Host blocks.
 */
export function addInclude(text: string, ourFile: string): string {
  if (hasInclude(text, ourFile)) return text
  return includeLines(ourFile, eolOf(text)) + text
}

export function hasInclude(text: string, ourFile: string): boolean {
  return text.includes(includeLines(ourFile, eolOf(text)))
}

export function removeInclude(text: string, ourFile: string): string {
  let out = text
  for (const eol of ['\r\n', '\n']) out = out.split(includeLines(ourFile, eol)).join('')
  return out
}

const begin = (scope: string) => `# >>> ssm-ssh ${scope} (generated: edit with ssm-ssh config, not by hand)`
const end = (scope: string) => `# <<< ssm-ssh ${scope}`

/** Our file with the block of `scope` (profile/region) replaced or added; other scopes untouched. */
export function replaceBlock(ours: string, scope: string, body: string): string {
  const block = `${begin(scope)}\n${body.endsWith('\n') ? body : `${body}\n`}${end(scope)}\n`
  const start = ours.indexOf(`${begin(scope)}\n`)
  if (start < 0)
    return ours === '' || ours.endsWith('\n') ? `${ours}${ours ? '\n' : ''}${block}` : `${ours}\n\n${block}`
  const stop = ours.indexOf(`${end(scope)}\n`, start)
  return ours.slice(0, start) + block + ours.slice(stop + end(scope).length + 1)
}

export function removeBlock(ours: string, scope: string): string {
  const start = ours.indexOf(`${begin(scope)}\n`)
  if (start < 0) return ours
  const stop = ours.indexOf(`${end(scope)}\n`, start)
  return (ours.slice(0, start) + ours.slice(stop + end(scope).length + 1)).replace(/^\n+/, '')
}
