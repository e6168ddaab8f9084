// Command output, names and tags come from the cloud: none of their bytes may drive the terminal.
// Escape sequences (CSI, OSC, and the rest) go, carriage returns become line breaks (a progress bar
// on the host must not overwrite our prefix), other control characters show as '?'. Tabs stay.

const ESC = '\u001b'
/** CSI (ESC [ … final byte, or 8-bit CSI), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC strings, ESC + one byte */
const ESCAPES = new RegExp(
  [
    `${ESC}\\[[0-?]*[ -/]*[@-~]`,
    `\u009b[0-?]*[ -/]*[@-~]`,
    `${ESC}\\][^\u0007${ESC}]*(\u0007|${ESC}\\\\)?`,
    `${ESC}[PX^_][^${ESC}]*(${ESC}\\\\)?`,
    `${ESC}[ -~]?`,
  ].join('|'),
  'g',
)
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what it replaces
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

/** Text safe to print: lines of printable characters and tabs. */
export function terminalSafe(text: string): string {
  return text.replace(ESCAPES, '').replace(/\r\n?/g, '\n').replace(CONTROLS, '?')
}

/** A one-line label (a host's name): no line breaks or tabs either. */
export function safeLabel(text: string): string {
  return terminalSafe(text).replace(/[\n\t]/g, ' ')
}

/** Each line of `text` behind `prefix` (parallel --tag's shape); no trailing empty line. */
export function prefixLines(prefix: string, text: string): string {
  if (text === '') return ''
  const lines = terminalSafe(text).split('\n')
  if (lines.at(-1) === '') lines.pop()
  return lines.map((line) => `${prefix}${line}\n`).join('')
}
