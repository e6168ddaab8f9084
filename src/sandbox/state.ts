import { callerCredential } from './credentials.ts'
import type { Fleet } from './fleet.ts'
import type { SandboxState } from './model.ts'

export interface StateOptions {
  region: string
  accountId: string
  accessKeyId: string
  secretAccessKey: string
  stateDir: string
  fleet: Fleet
  now?: () => Date
  /** the activation tier (default advanced: Session Manager reaches mi- nodes) */
  activationTier?: 'standard' | 'advanced'
}

export function createState(options: StateOptions): SandboxState {
  return {
    region: options.region,
    accountId: options.accountId,
    accessKeyId: options.accessKeyId,
    secretAccessKey: options.secretAccessKey,
    credentials: new Map([
      [
        options.accessKeyId,
        callerCredential(options.accountId, options.accessKeyId, options.secretAccessKey),
      ],
    ]),
    stateDir: options.stateDir,
    instances: new Map(options.fleet.instances.map((i) => [i.id, i])),
    privateHosts: new Map(options.fleet.privateHosts.map((h) => [h.address, h])),
    sessions: new Map(),
    commands: new Map(),
    pushedKeys: [],
    activations: new Map(),
    parameters: new Map(),
    activationTier: {
      value: options.activationTier ?? 'advanced',
      customized: (options.activationTier ?? 'advanced') !== 'standard',
      modifiedAt: new Date(0),
      modifiedBy: options.activationTier === 'standard' ? 'System' : `arn:aws:iam::${options.accountId}:root`,
    },
    requests: [],
    now: options.now ?? (() => new Date()),
  }
}
