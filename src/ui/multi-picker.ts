// run --pick: the fleet picker choosing several (Tab marks the row and moves on, as fzf's multi-select
// does; Enter takes the marked ones, or the row under the cursor when none is marked; Esc or Ctrl-C leave).
import {
  createPrompt,
  isDownKey,
  isEnterKey,
  isTabKey,
  isUpKey,
  useKeypress,
  useMemo,
  useState,
} from '@inquirer/core'
import type { Instance } from '../domain/instance.ts'
import { buildIndex, createIncrementalRanker } from '../domain/rank.ts'
import { CancelledError } from '../support/errors.ts'
import { cloneIds } from './instance-table.ts'
import { type PickerConfig, pageLines } from './picker.ts'

const LEFT = Symbol('left')

const multiPrompt = createPrompt<Instance[] | typeof LEFT, PickerConfig>((config, done) => {
  const index = useMemo(() => buildIndex(config.instances), [config.instances])
  const clones = useMemo(() => cloneIds(config.instances), [config.instances])
  const ranker = useMemo(() => createIncrementalRanker(index), [index])
  const [query, setQuery] = useState(config.initialQuery ?? '')
  const [active, setActive] = useState(0)
  const [marked, setMarked] = useState<ReadonlySet<string>>(new Set())
  const [status, setStatus] = useState<'idle' | 'done'>('idle')
  const results = useMemo(() => ranker(query), [ranker, query])

  useKeypress((key, rl) => {
    const keepQuery = () => {
      rl.clearLine(0)
      rl.write(query)
    }
    if (key.name === 'escape') {
      setStatus('done')
      done(LEFT)
    } else if (isEnterKey(key)) {
      const chosen =
        marked.size > 0
          ? config.instances.filter((i) => marked.has(i.id))
          : [results.at(active)?.instance].filter((i): i is Instance => i !== undefined)
      if (chosen.length === 0) return
      setStatus('done')
      done(chosen)
    } else if (isTabKey(key)) {
      keepQuery()
      const id = results.at(active)?.instance.id
      if (id === undefined) return
      const next = new Set(marked)
      if (next.has(id)) next.delete(id)
      else next.add(id)
      setMarked(next)
      setActive(Math.min(Math.max(0, results.length - 1), active + 1))
    } else if (isUpKey(key, ['emacs'])) {
      keepQuery()
      setActive(Math.max(0, active - 1))
    } else if (isDownKey(key, ['emacs'])) {
      keepQuery()
      setActive(Math.min(Math.max(0, results.length - 1), active + 1))
    } else if (rl.line !== query) {
      setQuery(rl.line)
      setActive(0)
    }
  })

  const c = config.colors
  if (status === 'done') return ''
  const lines = pageLines({
    results,
    active,
    pageSize: config.pageSize,
    now: config.now,
    clones,
    colors: c,
    mark: (i) => (marked.has(i.id) ? c.cyan('●') : ' '),
  })
  return [
    `${c.bold('run on')} ${query}  ${c.dim(`${marked.size} marked · ${results.length}/${config.instances.length}`)}`,
    ...lines,
    c.dim('↑↓ move · tab mark · enter run · esc quit'),
  ].join('\n')
})

/** The instances a person marked; CancelledError (exit 130) on Esc or Ctrl-C. */
export async function pickInstances(
  config: PickerConfig,
  io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; signal: AbortSignal },
): Promise<Instance[]> {
  let picked: Instance[] | typeof LEFT
  try {
    picked = await multiPrompt(config, { ...io, clearPromptOnDone: true })
  } catch (error) {
    if (['ExitPromptError', 'AbortPromptError', 'CancelPromptError'].includes((error as Error).name))
      throw new CancelledError('cancelled', { cause: error })
    throw error
  }
  if (picked === LEFT) throw new CancelledError('cancelled')
  return picked
}
