// One word for a POSIX shell: single quotes, each ' as '\''. For values that reach a remote shell
// (a working directory in `run --via ssh`).
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}
