// ANSI colour, only when allowed (a TTY and no NO_COLOR): callers pass the decision in.
export interface Colors {
  dim(s: string): string
  bold(s: string): string
  red(s: string): string
  yellow(s: string): string
  cyan(s: string): string
}

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`
const plain = (s: string) => s

export function colors(enabled: boolean): Colors {
  return enabled
    ? { dim: wrap(2, 22), bold: wrap(1, 22), red: wrap(31, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) }
    : { dim: plain, bold: plain, red: plain, yellow: plain, cyan: plain }
}
