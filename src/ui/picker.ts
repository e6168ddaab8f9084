// The fleet picker: type to fuzzy-filter (domain/rank.ts), arrows to move, Enter to choose, Esc or
// Ctrl-C to leave. Built on @inquirer/core and rendered on stderr; stdout stays free for --print.
import {
  createPrompt,
  isDownKey,
  isEnterKey,
  isUpKey,
  useEffect,
  useKeypress,
  useMemo,
  useState,
} from '@inquirer/core'
import type { Instance } from '../domain/instance.ts'
import { buildIndex, createIncrementalRanker, type Ranking, warmUpRanker } from '../domain/rank.ts'
import { CancelledError } from '../support/errors.ts'
import type { Colors } from './color.ts'
import { cloneIds, columnWidths, formatRow, HEADER, instanceRow } from './instance-table.ts'

export interface PickerConfig {
  instances: Instance[]
  now: Date
  colors: Colors
  /** rows of results shown at once */
  pageSize: number
  initialQuery?: string
  /** what choosing does, for the prompt line and the keys hint: 'ssh to' (default), 'forward through' … */
  action?: { prompt: string; enter: string }
}

const PICKED = Symbol('cancelled')

export interface PageView {
  results: Ranking
  active: number
  pageSize: number
  now: Date
  clones: Set<string>
  colors: Colors
  /** a column before each row (the multi-picker's marks) */
  mark?: (instance: Instance) => string
}

/** The rows on screen around the cursor: header, then instances, offline ones dimmed, the active one bold. */
export function pageLines(view: PageView): string[] {
  const c = view.colors
  const start = Math.max(
    0,
    Math.min(view.active - Math.floor(view.pageSize / 2), view.results.length - view.pageSize),
  )
  const page = view.results.slice(start, start + view.pageSize)
  const rows = [HEADER, ...page.map((r) => instanceRow(r.instance, view.now, view.clones))]
  const widths = columnWidths(rows)
  return rows.map((row, n) => {
    const text = formatRow(row, widths)
    const r = page[n - 1]
    const mark = view.mark ? `${r ? view.mark(r.instance) : ' '} ` : ''
    if (n === 0) return `  ${mark}${c.bold(text)}`
    const styled = r?.instance.pingStatus === 'Online' ? text : c.dim(text)
    return start + n - 1 === view.active ? `${c.cyan('❯')} ${mark}${c.bold(styled)}` : `  ${mark}${styled}`
  })
}

const pickerPrompt = createPrompt<Instance | typeof PICKED, PickerConfig>((config, done) => {
  const index = useMemo(() => buildIndex(config.instances), [config.instances])
  const clones = useMemo(() => cloneIds(config.instances), [config.instances])
  const [query, setQuery] = useState(config.initialQuery ?? '')
  const [active, setActive] = useState(0)
  const [status, setStatus] = useState<'idle' | 'done'>('idle')
  const ranker = useMemo(() => createIncrementalRanker(index), [index])
  // ordered only as far as read: the page on screen, and `active` on Enter
  const results = useMemo(() => ranker(query), [ranker, query])
  // after the first paint, while the person reads it: typing's first keystrokes then stay under 16 ms
  useEffect(() => {
    const timer = setTimeout(() => warmUpRanker(index), 0)
    return () => clearTimeout(timer)
  }, [index])

  useKeypress((key, rl) => {
    if (key.name === 'escape') {
      setStatus('done')
      done(PICKED)
      return
    }
    if (isEnterKey(key)) {
      const choice = results.at(active)?.instance
      if (choice) {
        setStatus('done')
        done(choice)
      }
      return
    }
    if (isUpKey(key, ['emacs'])) {
      rl.clearLine(0)
      rl.write(query)
      setActive(Math.max(0, active - 1))
      return
    }
    if (isDownKey(key, ['emacs'])) {
      rl.clearLine(0)
      rl.write(query)
      setActive(Math.min(Math.max(0, results.length - 1), active + 1))
      return
    }
    if (rl.line !== query) {
      setQuery(rl.line)
      setActive(0)
    }
  })

  const c = config.colors
  if (status === 'done') return ''
  const lines = pageLines({ results, active, pageSize: config.pageSize, now: config.now, clones, colors: c })
  const count = c.dim(`${results.length}/${config.instances.length}`)
  return [
    `${c.bold(config.action?.prompt ?? 'ssh to')} ${query}  ${count}`,
    ...lines,
    c.dim(`↑↓ move · enter ${config.action?.enter ?? 'connect'} · esc quit`),
  ].join('\n')
})

/** The instance a person picked; CancelledError (exit 130) on Esc or Ctrl-C. */
export async function pickInstance(
  config: PickerConfig,
  io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; signal: AbortSignal },
): Promise<Instance> {
  let picked: Instance | typeof PICKED
  try {
    picked = await pickerPrompt(config, {
      input: io.input,
      output: io.output,
      signal: io.signal,
      clearPromptOnDone: true,
    })
  } catch (error) {
    const name = (error as Error).name
    if (name === 'ExitPromptError' || name === 'AbortPromptError' || name === 'CancelPromptError') {
      throw new CancelledError('cancelled', { cause: error })
    }
    throw error
  }
  if (picked === PICKED) throw new CancelledError('cancelled')
  return picked
}
