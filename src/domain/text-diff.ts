// A unified diff of two texts, line by line (Myers' O((N+M)D) algorithm: the stanza file of a
// 10,000-instance fleet has ~60,000 lines, and a run usually changes a few). Pure.

type Op = { kind: ' ' | '-' | '+'; line: string }

/** Marks a last line without its newline, so it differs from the same line with one. */
const NO_NEWLINE = '\u0000no-newline'

function linesOf(text: string): string[] {
  if (text === '') return []
  const lines = text.split('\n')
  if (text.endsWith('\n')) lines.pop()
  else lines[lines.length - 1] += NO_NEWLINE
  return lines
}

/** The shortest edit script turning `a` into `b`. */
function editScript(a: string[], b: string[]): Op[] {
  const n = a.length
  const m = b.length
  const max = n + m
  const offset = max + 1
  const v = new Int32Array(2 * max + 3)
  const trace: Int32Array[] = []
  let found = false
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice())
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))
          ? (v[offset + k + 1] as number)
          : (v[offset + k - 1] as number) + 1
      let y = x - k
      while (x < n && y < m && a[x] === b[y]) {
        x++
        y++
      }
      v[offset + k] = x
      if (x >= n && y >= m) {
        found = true
        break
      }
    }
  }
  trace.push(v.slice())
  // walk back through the trace
  const ops: Op[] = []
  let x = n
  let y = m
  for (let d = trace.length - 2; d >= 0; d--) {
    const vd = trace[d] as Int32Array
    const k = x - y
    const prevK =
      k === -d || (k !== d && (vd[offset + k - 1] as number) < (vd[offset + k + 1] as number)) ? k + 1 : k - 1
    const prevX = vd[offset + prevK] as number
    const prevY = prevX - prevK
    while (x > prevX && y > prevY) ops.push({ kind: ' ', line: a[--x] as string }) && y--
    if (d > 0) {
      if (x === prevX) ops.push({ kind: '+', line: b[--y] as string })
      else ops.push({ kind: '-', line: a[--x] as string })
    }
  }
  while (x > 0 && y > 0) ops.push({ kind: ' ', line: a[--x] as string }) && y--
  return ops.reverse()
}

/** `--- name` / `+++ afterName` and @@ hunks with `context` lines around each change; '' when equal. */
export function unifiedDiff(
  before: string,
  after: string,
  name: string,
  context = 3,
  afterName = `${name} (after ssm-ssh config)`,
): string {
  if (before === after) return ''
  const a = linesOf(before)
  const b = linesOf(after)
  const ops = editScript(a, b)
  const out = [`--- ${name}`, `+++ ${afterName}`]
  let i = 0
  let aLine = 1
  let bLine = 1
  while (i < ops.length) {
    // skip to the next change, keeping `context` lines before it
    let j = i
    while (j < ops.length && (ops[j] as Op).kind === ' ') j++
    if (j === ops.length) break
    const start = Math.max(i, j - context)
    aLine += start - i
    bLine += start - i
    // extend the hunk while changes are within 2*context of each other
    let end = j
    let lastChange = j
    while (end < ops.length) {
      if ((ops[end] as Op).kind !== ' ') lastChange = end
      else if (end - lastChange > 2 * context) break
      end++
    }
    end = Math.min(ops.length, lastChange + context + 1)
    const hunk = ops.slice(start, end)
    const aCount = hunk.filter((o) => o.kind !== '+').length
    const bCount = hunk.filter((o) => o.kind !== '-').length
    out.push(`@@ -${aCount ? aLine : aLine - 1},${aCount} +${bCount ? bLine : bLine - 1},${bCount} @@`)
    for (const o of hunk)
      out.push(
        o.line.endsWith(NO_NEWLINE)
          ? `${o.kind}${o.line.slice(0, -NO_NEWLINE.length)}\n\\ No newline at end of file`
          : `${o.kind}${o.line}`,
      )
    aLine += aCount
    bLine += bCount
    i = end
  }
  return `${out.join('\n')}\n`
}
