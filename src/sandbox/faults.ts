// --faults: the network and service misbehaviour the sandbox injects, reproducible by --seed.
// Example: drop=0.02,dup=0.02,reorder=0.05,disconnect=5s,recycle=60s,throttle=0.1
import { UsageError } from '../support/errors.ts'

export interface Faults {
  /** probability that a data-channel frame is dropped (each direction) */
  drop: number
  /** probability that a frame is delivered twice */
  dup: number
  /** probability that a frame is held back and delivered after the next one */
  reorder: number
  /** cut the client's websocket (abnormal close) every N ms; the client must ResumeSession */
  disconnectMs?: number
  /** close the client's websocket with 1000 "Bye" every N ms, as the service does about hourly */
  recycleMs?: number
  /** probability that an API call answers ThrottlingException (RequestLimitExceeded for EC2) */
  throttle: number
  /** DescribeInstanceInformation filters after cutting a page, as AWS does (sparse/empty pages) */
  sparse: boolean
  /** the agent never starts the handshake (tests the client's handshake timeout) */
  stall: boolean
}

export const noFaults: Faults = { drop: 0, dup: 0, reorder: 0, throttle: 0, sparse: false, stall: false }

const probabilityKeys = ['drop', 'dup', 'reorder', 'throttle'] as const
const durationKeys = { disconnect: 'disconnectMs', recycle: 'recycleMs' } as const

export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (!m) return undefined
  const n = Number(m[1])
  const unit = m[2] ?? 's'
  const scale = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000
  return Math.round(n * scale)
}

export function parseFaults(spec: string | undefined): Faults {
  const faults: Faults = { ...noFaults }
  if (spec === undefined || spec.trim() === '') return faults
  for (const part of spec.split(',')) {
    const [rawKey, rawValue = ''] = part.split('=')
    const key = (rawKey ?? '').trim()
    const value = rawValue.trim()
    if ((probabilityKeys as readonly string[]).includes(key)) {
      const p = Number(value)
      if (value === '' || !Number.isFinite(p) || p < 0 || p > 1) {
        throw new UsageError(`--faults: ${key}=${value} is not a probability`, {
          hint: `use a number from 0 to 1, e.g. ${key}=0.02`,
        })
      }
      faults[key as (typeof probabilityKeys)[number]] = p
    } else if (key in durationKeys) {
      const ms = parseDuration(value)
      if (ms === undefined || ms <= 0) {
        throw new UsageError(`--faults: ${key}=${value} is not a duration`, {
          hint: `use e.g. ${key}=5s or ${key}=500ms`,
        })
      }
      faults[durationKeys[key as keyof typeof durationKeys]] = ms
    } else if (key === 'sparse' || key === 'stall') {
      faults[key] = value === '' || value === '1' || value === 'true'
    } else {
      throw new UsageError(`--faults: unknown fault "${key}"`, {
        hint: 'known faults: drop, dup, reorder, throttle (0..1), disconnect, recycle (durations), sparse, stall',
      })
    }
  }
  return faults
}

/** A small seeded PRNG (mulberry32): the same --seed gives the same faults and the same fleet. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
