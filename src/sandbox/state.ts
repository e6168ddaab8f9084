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
    requests: [],
    now: options.now ?? (() => new Date()),
  }
}
