// The sandbox's shared state: the simulated fleet, sessions, commands and keys.
// The API (api/), the data channel (data-channel/) and the hosts (hosts/) all read and write this one
// object; nothing else is shared between them.
import type { IssuedCredential } from './credentials.ts'
import type { Policy } from './iam/policy.ts'

export type PingStatus = 'Online' | 'ConnectionLost' | 'Inactive'

export interface SimInstance {
  /** i-… (EC2, 17 hex) or mi-… (hybrid, 17 hex) */
  id: string
  kind: 'ec2' | 'hybrid'
  /** SSM InstanceInformation.Name: activation DefaultInstanceName for hybrid nodes; absent for EC2 */
  ssmName?: string
  computerName: string
  ipAddress: string
  platformType: 'Linux' | 'Windows' | 'MacOS'
  platformName: string
  platformVersion: string
  agentVersion: string
  pingStatus: PingStatus
  lastPingDateTime: Date
  registrationDate?: Date
  /** 'EC2Instance' | 'ManagedInstance' */
  resourceType: 'EC2Instance' | 'ManagedInstance'
  /** hybrid: the SSM activation id that registered it */
  activationId?: string
  iamRole?: string
  /** SSM tags for mi-, EC2 tags for i- (includes Name) */
  tags: Map<string, string>
  /** EC2 only */
  availabilityZone?: string
  instanceType?: string
  /**
   * IANA time zone of the host's clock (default UTC): scripts get it as TZ, and its SSH server reads
   * authorized_keys' expiry-time in it, as sshd reads local time.
   */
  timezone?: string
  /**
   * EC2: whether its sshd asks EC2 Instance Connect (the ec2-instance-connect package's
   * AuthorizedKeysCommand); without it, keys sent by SendSSHPublicKey are accepted by the API and
   * never by the host, as on AWS. Default true for EC2.
   */
  instanceConnect?: boolean
  /** OS user names that exist on the host (pi, ec2-user, ubuntu …); the first is the default */
  users: string[]
  /** Absolute path of this instance's home directory under --state (authorized_keys live in .ssh/) */
  home: string
  /** Filled in when the host's SSH server starts: 127.0.0.1:<sshPort> plays its port 22 */
  sshPort?: number
  /** Other TCP ports the host "listens" on, mapped to loopback ports (port-forwarding documents) */
  extraPorts?: Map<number, number>
  /** Addresses (private hosts) reachable from this instance through remote-host port forwarding */
  reachable?: string[]
  /** Names the instance resolves (its /etc/hosts, its LAN's DNS): name → addresses, in the order returned */
  lanNames?: Record<string, string[]>
  /** EC2: the VPC's primary CIDR block, whose reserved addresses the agent refuses to forward to */
  vpcCidr?: string
  /**
   * Who plays the instance side: our simulated agent (default), or AWS's own amazon-ssm-agent running
   * in the instance's namespaces, reached over MGS (sandbox --real N).
   */
  agent?: 'simulated' | 'real'
  /**
   * A real agent's bearer token for its role's credentials endpoint (api/instance-role.ts): how it
   * gets the instance's role credentials, where AWS would use instance metadata.
   */
  roleToken?: string
  /**
   * A node registered by its own agent (RegisterManagedInstance): the RSA public key it signs its
   * role-token requests with (base64 DER SubjectPublicKeyInfo) and its machine fingerprint.
   */
  registration?: { publicKey: string; publicKeyType: string; fingerprint: string }
}

/** An unmanaged host on a private network behind a gateway instance (no agent, no SSM id). */
export interface PrivateHost {
  /** address as seen from the gateway, e.g. 10.20.0.5 or "printer.lab" */
  address: string
  port: number
  /** the instance id (or another private host's address) it is reachable from */
  reachableFrom: string
  users: string[]
  home: string
  /** loopback port of its SSH server */
  sshPort?: number
  /** addresses this host may forward to (direct-tcpip), all inside the sandbox's table */
  forwardsTo: string[]
}

export type SessionStatus =
  | 'Connected'
  | 'Connecting'
  | 'Disconnected'
  | 'Terminated'
  | 'Terminating'
  | 'Failed'

export interface SimSession {
  sessionId: string
  target: string
  documentName: string
  /** StartSession Parameters as sent (map of string lists) */
  parameters: Record<string, string[]>
  reason?: string
  owner: string
  /** current valid token (StartSession or latest ResumeSession); single-use once a socket is open */
  tokenValue: string
  tokenUsed: boolean
  /** whether the client's latest websocket upgrade was SigV4-signed (plugins ≥ 1.2.688 and ssm-ssh sign it) */
  clientUpgradeSigned?: boolean
  status: SessionStatus
  startDate: Date
  endDate?: Date
  /** ClientVersion from the client's OpenDataChannelInput (the official plugin says its own) */
  clientVersion?: string
  /** set by the data channel when it attaches; TerminateSession calls it */
  terminate?: (reason: string) => void
}

export type CommandStatus =
  | 'Pending'
  | 'InProgress'
  | 'Delayed'
  | 'Success'
  | 'Cancelled'
  | 'TimedOut'
  | 'Failed'
  | 'Cancelling'
  | 'Undeliverable'

export interface SimInvocation {
  commandId: string
  instanceId: string
  status: CommandStatus
  statusDetails: string
  responseCode: number
  stdout: string
  stderr: string
  /** Visible to GetCommandInvocation only after this time (InvocationDoesNotExist before) */
  visibleAt: Date
  requestedDateTime: Date
  executionStartDateTime?: Date
  executionEndDateTime?: Date
  /** the plugin's Output as ListCommandInvocations gives it (stdout and stderr in 2,500 bytes) */
  output?: string
  /** stops the running script (CancelCommand) */
  cancel?: () => void
}

export interface SimCommand {
  commandId: string
  documentName: string
  comment?: string
  parameters: Record<string, string[]>
  instanceIds: string[]
  targets?: Array<{ Key: string; Values: string[] }>
  requestedDateTime: Date
  timeoutSeconds: number
  /** as sent: a count or a percentage of the targets */
  maxConcurrency: string
  maxErrors: string
  /** CancelCommand was called for every invocation */
  cancelled?: boolean
  outputS3BucketName?: string
  outputS3KeyPrefix?: string
  cloudWatchLogGroupName?: string
  invocations: Map<string, SimInvocation>
}

/** A key pushed by EC2 Instance Connect: valid for 60 s for one OS user. */
export interface PushedKey {
  instanceId: string
  osUser: string
  publicKey: string
  expiresAt: Date
}

export interface RecordedRequest {
  at: Date
  service: 'ssm' | 'ec2-instance-connect' | 'ec2' | 'ec2messages' | 'tagging' | 'ssmmessages' | 'sts' | 'iam'
  operation: string
  status: number
  errorCode?: string
  /** the client's TCP port: which connection (a proxy's tunnel, or a direct one) carried it */
  peerPort?: number
}

/** A hybrid activation (CreateActivation): Pis register with its id and code until it expires or is full. */
export interface SimActivation {
  activationId: string
  /** the secret a Pi registers with (returned once, by CreateActivation) */
  activationCode: string
  description?: string
  defaultInstanceName?: string
  /** the service role registered instances assume (IamRole) */
  iamRole: string
  registrationLimit: number
  registrationsCount: number
  expirationDate: Date
  createdDate: Date
  tags: Map<string, string>
}

/** One version of a parameter (PutParameter numbers them from 1, per name). */
export interface SimParameterVersion {
  version: number
  value: string
  /** a SecureString version as GetParameter shows it without WithDecryption (base64, like a KMS blob) */
  ciphertext?: string
  description?: string
  lastModifiedDate: Date
  lastModifiedUser: string
  labels: string[]
}

/** A Parameter Store parameter, with the versions it keeps (GetParameterHistory). */
export interface SimParameter {
  name: string
  type: 'String' | 'StringList' | 'SecureString'
  /** KeyId of a SecureString (alias/aws/ssm by default) */
  keyId?: string
  description?: string
  tier: 'Standard' | 'Advanced'
  dataType: string
  /** oldest first, the last is current; at most 100 are kept, so numbers need not start at 1 */
  versions: SimParameterVersion[]
  tags: Map<string, string>
}

export interface SandboxState {
  region: string
  accountId: string
  /** the caller's key pair (an IAM user's), as the sandbox prints it */
  accessKeyId: string
  secretAccessKey: string
  /** every key pair the sandbox accepts, the caller's first (credentials.ts) */
  credentials: Map<string, IssuedCredential>
  /** base directory: homes/<id>/ for every instance and private host */
  stateDir: string
  instances: Map<string, SimInstance>
  privateHosts: Map<string, PrivateHost>
  sessions: Map<string, SimSession>
  commands: Map<string, SimCommand>
  pushedKeys: PushedKey[]
  /** hybrid activations by id (issue 18) */
  activations: Map<string, SimActivation>
  /** Parameter Store, by name (issue 18) */
  parameters: Map<string, SimParameter>
  /** the account's /ssm/managed-instance/activation-tier service setting (api/ssm-settings.ts) */
  activationTier: { value: string; customized: boolean; modifiedAt: Date; modifiedBy: string }
  requests: RecordedRequest[]
  /**
   * The identity-based policy of the caller's IAM users (sandbox --iam-policy): every call they sign
   * is authorised against it; none means allowed everything. Instance roles are never subject to it.
   */
  callerPolicy?: Policy
  now(): Date
}
