// Who gets a `run` command and in which SendCommand calls: offline nodes and agents too old for the
// way in are set aside before anything is sent; a selection that is exactly one tag goes out as one
// call with Targets (the service expands it, however many nodes carry the tag), anything else as
// InstanceIds, at most 50 a call (aws-api-notes.md §2.7, §4).
import { compareVersions } from '../../support/version-compare.ts'
import type { Instance } from '../instance.ts'

export const IDS_PER_CALL = 50
export const SHELL_DOCUMENT = 'AWS-RunShellScript'
export const POWERSHELL_DOCUMENT = 'AWS-RunPowerShellScript'

export type SkipReason = 'offline' | 'too-old'

export interface Skipped {
  instance: Instance
  reason: SkipReason
}

export interface Send {
  document: string
  /** the tag selection, when every node carrying it is eligible */
  tag?: { key: string; value: string }
  instanceIds: string[]
  /** the nodes this call reaches (as listed) */
  instances: Instance[]
  maxConcurrency: string
  maxErrors: string
}

export interface PlanInput {
  instances: Instance[]
  /** set when the whole selection is one tag:K=V */
  tag?: { key: string; value: string }
  /** --document; otherwise AWS-RunPowerShellScript for Windows nodes and AWS-RunShellScript for the rest */
  document?: string
  /** the oldest agent the way in works with ('' = any) */
  minAgent: string
  maxConcurrency: string
  maxErrors: string
}

export interface Plan {
  sends: Send[]
  skipped: Skipped[]
}

export const documentFor = (instance: Instance, chosen?: string) =>
  chosen ?? (/windows/i.test(instance.platform) ? POWERSHELL_DOCUMENT : SHELL_DOCUMENT)

function skipReason(instance: Instance, minAgent: string): SkipReason | undefined {
  if (instance.pingStatus !== 'Online') return 'offline'
  if (minAgent && instance.agentVersion && compareVersions(instance.agentVersion, minAgent) < 0)
    return 'too-old'
  return undefined
}

/**
 * A count split over `parts` calls so that together they allow about as many as asked, each at least
 * one (a percentage holds for each call as it does for all). Used for MaxConcurrency and MaxErrors.
 */
export function splitLimit(value: string, parts: number, index: number, floor: number): string {
  if (value.endsWith('%') || parts <= 1) return value
  const n = Number(value)
  const share = Math.floor(n / parts) + (index < n % parts ? 1 : 0)
  return String(Math.max(floor, share))
}

export function planRun(input: PlanInput): Plan {
  const skipped: Skipped[] = []
  const byDocument = new Map<string, Instance[]>()
  for (const instance of input.instances) {
    const reason = skipReason(instance, input.minAgent)
    if (reason) {
      skipped.push({ instance, reason })
      continue
    }
    const document = documentFor(instance, input.document)
    byDocument.set(document, [...(byDocument.get(document) ?? []), instance])
  }
  const limits = { maxConcurrency: input.maxConcurrency, maxErrors: input.maxErrors }
  if (input.tag && skipped.length === 0 && byDocument.size === 1) {
    const [[document, instances]] = [...byDocument] as [[string, Instance[]]]
    return { sends: [{ document, tag: input.tag, instanceIds: [], instances, ...limits }], skipped }
  }
  const chunks: Array<{ document: string; instances: Instance[] }> = []
  for (const [document, instances] of byDocument) {
    for (let i = 0; i < instances.length; i += IDS_PER_CALL)
      chunks.push({ document, instances: instances.slice(i, i + IDS_PER_CALL) })
  }
  const sends = chunks.map((c, i) => ({
    document: c.document,
    instanceIds: c.instances.map((x) => x.id),
    instances: c.instances,
    maxConcurrency: splitLimit(input.maxConcurrency, chunks.length, i, 1),
    // each call may tolerate all of MaxErrors: the client counts across calls and cancels the rest
    maxErrors: input.maxErrors,
  }))
  return { sends, skipped }
}
