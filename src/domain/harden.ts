// `harden`: the script (templates/harden.sh) that takes ssm-user's sudo rights away for good and, when
// asked, the Pi owner's NOPASSWD; what it printed, read back; and what each host's row says. Pure.
// The script's output comes from the instance: only the two file names it may touch are believed,
// contents arrive in base64 and are printed only after terminalSafe (by the caller).
import { shellQuote } from './shell-quote.ts'
import { unifiedDiff } from './text-diff.ts'

export type HardenAction = 'apply' | 'dry-run' | 'undo'

export const SUDOERS_DIR = '/etc/sudoers.d'
/** The agent's file (agent/session/utility/utility_unix.go sudoersFile) and Raspberry Pi OS's. */
export const HARDENED_FILES = ['ssm-agent-users', '010_pi-nopasswd'] as const
export type HardenedFile = (typeof HARDENED_FILES)[number]

export function renderHardenScript(
  template: string,
  values: { action: HardenAction; piNopasswd: boolean },
): string {
  if (!template.includes('__ACTION__') || !template.includes('__PI_NOPASSWD__'))
    throw new Error('the harden template has no __ACTION__ or __PI_NOPASSWD__')
  return template
    .replace('__ACTION__', shellQuote(values.action))
    .replace('__PI_NOPASSWD__', shellQuote(values.piNopasswd ? 'yes' : 'no'))
}

/** unchanged; change, create (apply and dry-run); restore, remove (undo) */
export type FileState = 'unchanged' | 'change' | 'create' | 'restore' | 'remove'

export interface FileChange {
  name: HardenedFile
  state: FileState
  /** the content before and after; undefined: no such file (or unchanged, not sent) */
  before?: string
  after?: string
}

export interface HardenReport {
  /** whether ssm-user exists on the host (apply, dry-run) */
  ssmUser?: boolean
  files: FileChange[]
  warnings: string[]
  /** the script's FAILED line */
  failed?: string
  /** its last line came: the report is whole (Run Command keeps 2,500 characters of output) */
  done: boolean
}

const STATES = new Set<string>(['unchanged', 'change', 'create', 'restore', 'remove'])
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function decode(field: string): string | undefined {
  if (field === '-' || !BASE64.test(field)) return undefined
  return Buffer.from(field, 'base64').toString('utf8')
}

/** The lines templates/harden.sh prints; anything else (or a file it may not touch) is ignored. */
export function parseHardenOutput(output: string): HardenReport {
  const report: HardenReport = { files: [], warnings: [], done: false }
  for (const line of output.split('\n')) {
    const [word, ...rest] = line.split(' ')
    if (line === 'DONE') report.done = true
    else if (word === 'FAILED' && report.failed === undefined) report.failed = rest.join(' ').trim()
    else if (word === 'WARN') report.warnings.push(rest.join(' '))
    else if (word === 'SSMUSER' && (rest[0] === 'yes' || rest[0] === 'no')) report.ssmUser = rest[0] === 'yes'
    else if (word === 'FILE' && rest.length === 4) {
      const [name = '', state = '', before = '-', after = '-'] = rest
      if (!(HARDENED_FILES as readonly string[]).includes(name) || !STATES.has(state)) continue
      const b = decode(before)
      const a = decode(after)
      report.files.push({
        name: name as HardenedFile,
        state: state as FileState,
        ...(b !== undefined ? { before: b } : {}),
        ...(a !== undefined ? { after: a } : {}),
      })
    }
  }
  return report
}

export type HostVerdict = 'changed' | 'unchanged'

/** Whether the host was (or, in a dry run, would be) changed. */
export function verdictOf(report: HardenReport): HostVerdict {
  return report.files.some((f) => f.state !== 'unchanged') ? 'changed' : 'unchanged'
}

const DONE: Record<FileState, Record<HardenAction, string>> = {
  unchanged: { apply: 'already hardened', 'dry-run': 'already hardened', undo: 'unchanged' },
  change: { apply: 'hardened', 'dry-run': 'would be hardened', undo: '' },
  create: { apply: 'created as a comment', 'dry-run': 'would be created as a comment', undo: '' },
  restore: { apply: '', 'dry-run': '', undo: 'restored from the backup' },
  remove: { apply: '', 'dry-run': '', undo: 'removed (harden had created it)' },
}

/** One line for the host's row: each file and what happened to it. */
export function describeHost(report: HardenReport, action: HardenAction): string {
  const files = report.files.map((f) => `${f.name} ${DONE[f.state][action] || f.state}`)
  const user = report.ssmUser === false ? ' (no ssm-user yet: the agent will make one without sudo)' : ''
  if (files.length === 0) return action === 'undo' ? 'nothing to undo' : 'nothing to do'
  return `${files.join(', ')}${user}`
}

/** Unified diffs of what changed (or would), one per file; '' when nothing did. */
export function hardenDiff(report: HardenReport, action: HardenAction): string {
  const label = action === 'undo' ? 'after ssm-ssh harden --undo' : 'after ssm-ssh harden'
  return report.files
    .filter((f) => f.state !== 'unchanged')
    .map((f) => {
      const path = `${SUDOERS_DIR}/${f.name}`
      const before = f.before ?? ''
      const after = f.after ?? ''
      const diff = unifiedDiff(
        before,
        after,
        f.before === undefined ? '/dev/null' : path,
        3,
        `${path} (${label})`,
      )
      return f.after === undefined ? diff.replace(/^\+\+\+ .*$/m, `+++ /dev/null (${label})`) : diff
    })
    .join('')
}
