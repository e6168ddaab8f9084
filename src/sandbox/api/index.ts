// The sandbox's AWS API on one port: SSM and EC2 Instance Connect (AWS JSON 1.1, told apart by
// X-Amz-Target) and EC2 (Query protocol, form body with Action=…, XML replies) — aws-api-notes.md §1.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { handleAgentPackage } from '../agent-package.ts'
import type { IssuedCredential } from '../credentials.ts'
import type { Faults } from '../faults.ts'
import type { SandboxState, SimSession } from '../model.ts'
import { type AccessOf, accessOf, authorizeCaller, eicAccess, ssmAccess } from './access.ts'
import { describeInstances } from './ec2.ts'
import { sendSshPublicKey } from './eic.ts'
import { ApiError, type Protocol, xmlEscape } from './errors.ts'
import { handleIam, iamErrorXml } from './iam.ts'
import { handleRoleCredentials } from './instance-role.ts'
import { verifySignature } from './sigv4.ts'
import { createActivation, deleteActivation, describeActivations } from './ssm-activations.ts'
import { getMessages, listInstanceAssociations, updateInstanceInformation } from './ssm-agent.ts'
import {
  cancelCommand,
  getCommandInvocation,
  listCommandInvocations,
  listCommands,
  type RunScript,
  sendCommand,
} from './ssm-commands.ts'
import {
  describeInstanceInformation,
  describeInstanceProperties,
  getConnectionStatus,
} from './ssm-instances.ts'
import {
  deleteParameter,
  describeParameters,
  getParameter,
  getParameterHistory,
  getParameters,
  labelParameterVersion,
  putParameter,
} from './ssm-parameters.ts'
import {
  AGENT_AUTH,
  authenticateAgent,
  DEFAULT_ROLE_TOKEN_TTL_MS,
  deregisterManagedInstance,
  registerManagedInstance,
  requestManagedInstanceRoleToken,
  updateManagedInstancePublicKey,
} from './ssm-registration.ts'
import { describeSessions, resumeSession, startSession, terminateSession } from './ssm-sessions.ts'
import { getServiceSetting, resetServiceSetting, updateServiceSetting } from './ssm-settings.ts'
import { addTagsToResource, listTagsForResource } from './ssm-tags.ts'
import { getCallerIdentityXml, stsErrorXml } from './sts.ts'
import { getResources } from './tagging.ts'
import type { Body } from './validate.ts'

export type { RunScript } from './ssm-commands.ts'

export interface ApiOptions {
  faults: Faults
  latencyMs: number
  random: () => number
  /** http://127.0.0.1:PORT — the base of StreamUrls */
  publicEndpoint: () => string
  runScript: RunScript
  /** the service side real agents need (sandbox --real): MGS REST calls, pings, StartSession routing */
  agents?: AgentSide
  /** aborted when the sandbox closes: ends long polls */
  closing?: AbortSignal
  /** the agent as a .deb by architecture, for enroll --package-url (agent-package.ts) */
  agentPackages?: (arch: string) => Promise<string | undefined>
  /** how long RequestManagedInstanceRoleToken's credentials last (default 1 h; read at each request) */
  roleTokenTtlMs?: () => number
}

export interface AgentSide {
  /** POST /v1/control-channel|data-channel/…; false when the path is not MGS's */
  handleRest(req: IncomingMessage, res: ServerResponse, body: Buffer): boolean
  onPing(instanceId: string): void
  /** a new session reaches its instance's agent: false when a real agent holds no control channel */
  startSession(session: SimSession): boolean
  /** a node was deregistered: drop its agent's control channel */
  disconnect?(instanceId: string): void
  /** does a real agent hold the node's control channel now? (GetConnectionStatus) */
  connected?(instanceId: string): boolean
}

export interface OperationContext {
  requestId: string
  options: ApiOptions
  /** who signed the request */
  caller: IssuedCredential
}

type JsonOperation = (state: SandboxState, body: Body, ctx: OperationContext) => unknown

const ssmOperations: Record<string, JsonOperation> = {
  DescribeInstanceInformation: (s, b, c) => describeInstanceInformation(s, b, c.options.faults.sparse),
  DescribeInstanceProperties: (s, b) => describeInstanceProperties(s, b),
  GetConnectionStatus: (s, b, c) => getConnectionStatus(s, b, c.options.agents?.connected),
  ListTagsForResource: (s, b) => listTagsForResource(s, b),
  AddTagsToResource: (s, b) => addTagsToResource(s, b),
  StartSession: (s, b, c) =>
    startSession(s, b, c.options.publicEndpoint(), c.caller.principal, c.options.agents),
  ResumeSession: (s, b, c) => resumeSession(s, b, c.options.publicEndpoint()),
  TerminateSession: (s, b) => terminateSession(s, b),
  DescribeSessions: (s, b) => describeSessions(s, b),
  SendCommand: (s, b, c) => sendCommand(s, b, c.options.runScript),
  GetCommandInvocation: (s, b) => getCommandInvocation(s, b),
  ListCommandInvocations: (s, b) => listCommandInvocations(s, b),
  ListCommands: (s, b) => listCommands(s, b),
  CancelCommand: (s, b) => cancelCommand(s, b),
  CreateActivation: (s, b) => createActivation(s, b),
  DescribeActivations: (s, b) => describeActivations(s, b),
  DeleteActivation: (s, b) => deleteActivation(s, b),
  PutParameter: (s, b, c) => putParameter(s, b, c.caller.principal),
  GetParameter: (s, b) => getParameter(s, b),
  GetParameters: (s, b) => getParameters(s, b),
  GetParameterHistory: (s, b) => getParameterHistory(s, b),
  DeleteParameter: (s, b) => deleteParameter(s, b),
  DescribeParameters: (s, b) => describeParameters(s, b),
  LabelParameterVersion: (s, b) => labelParameterVersion(s, b),
  GetServiceSetting: (s, b) => getServiceSetting(s, b),
  UpdateServiceSetting: (s, b, c) => updateServiceSetting(s, b, c.caller.principal.arn),
  ResetServiceSetting: (s, b) => resetServiceSetting(s, b),
  // the agent's own calls
  UpdateInstanceInformation: (s, b, c) =>
    updateInstanceInformation(s, b, (id) => c.options.agents?.onPing(id)),
  ListInstanceAssociations: (s, b) => listInstanceAssociations(s, b),
  // hybrid registration (ssm-registration.ts): the first three are the node's, not the caller's
  RegisterManagedInstance: (s, b) => registerManagedInstance(s, b),
  RequestManagedInstanceRoleToken: (s, b, c) =>
    requestManagedInstanceRoleToken(
      s,
      b,
      c.caller,
      c.options.roleTokenTtlMs?.() ?? DEFAULT_ROLE_TOKEN_TTL_MS,
    ),
  UpdateManagedInstancePublicKey: (s, b, c) => updateManagedInstancePublicKey(s, b, c.caller),
  DeregisterManagedInstance: (s, b, c) => deregisterManagedInstance(s, b, c.options.agents?.disconnect),
}

/** ec2messages (MDS): the agent polls it; commands reach real agents over MGS, so it stays empty. */
const mdsOperations: Record<string, JsonOperation> = {
  GetMessages: (_s, b, c) => getMessages(b, c.options.closing ?? new AbortController().signal),
  AcknowledgeMessage: () => ({}),
  SendReply: () => ({}),
  FailMessage: () => ({}),
  DeleteMessage: () => ({}),
}

const eicOperations: Record<string, JsonOperation> = {
  SendSSHPublicKey: (s, b, c) => sendSshPublicKey(s, b, c.requestId),
}

const taggingOperations: Record<string, JsonOperation> = {
  GetResources: (s, b) => getResources(s, b),
}

type JsonService = 'ssm' | 'ec2-instance-connect' | 'ec2messages' | 'tagging'

// Each service's operations, and what they ask IAM for (access.ts: the operations that act on
// resources; the rest act on "*")
const targets: Record<
  string,
  { service: JsonService; operations: Record<string, JsonOperation>; access?: Record<string, AccessOf> }
> = {
  AmazonSSM: { service: 'ssm', operations: ssmOperations, access: ssmAccess },
  AWSEC2InstanceConnectService: {
    service: 'ec2-instance-connect',
    operations: eicOperations,
    access: eicAccess,
  },
  EC2WindowsMessageDeliveryService: { service: 'ec2messages', operations: mdsOperations },
  ResourceGroupsTaggingAPI_20170126: { service: 'tagging', operations: taggingOperations },
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function sendJson(res: ServerResponse, status: number, requestId: string, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'x-amzn-RequestId': requestId,
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(text),
    Date: new Date().toUTCString(),
  })
  res.end(text)
}

function sendError(res: ServerResponse, protocol: Protocol, requestId: string, error: ApiError): void {
  if (protocol === 'json') {
    const body: Record<string, unknown> = { __type: error.code, ...error.extra }
    if (error.messageKey) body[error.messageKey] = error.message
    sendJson(res, error.status, requestId, body)
    return
  }
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
  res.writeHead(error.status, {
    'Content-Type': 'text/xml;charset=UTF-8',
    'Content-Length': Buffer.byteLength(xml),
    Date: new Date().toUTCString(),
  })
  res.end(xml)
}

const throttleError: Record<string, ApiError> = {
  ssm: new ApiError('ThrottlingException', 'Rate exceeded', 400),
  ec2messages: new ApiError('ThrottlingException', 'Rate exceeded', 400),
  'ec2-instance-connect': new ApiError('ThrottlingException', 'Rate exceeded', 429),
  ec2: new ApiError('RequestLimitExceeded', 'Request limit exceeded.', 503),
  tagging: new ApiError('ThrottledException', 'Rate exceeded', 400),
}

export function createApiHandler(
  state: SandboxState,
  options: ApiOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID()
    const target = String(req.headers['x-amz-target'] ?? '')
    const protocol: Protocol = target ? 'json' : 'query'
    let service: JsonService | 'ec2' | 'sts' | 'iam' = 'ssm'
    let operation = 'Unknown'
    const record = (status: number, errorCode?: string) =>
      state.requests.push({
        at: state.now(),
        service,
        operation,
        status,
        ...(errorCode ? { errorCode } : {}),
        ...(req.socket.remotePort ? { peerPort: req.socket.remotePort } : {}),
      })
    try {
      const body = await readBody(req)
      if (options.agents?.handleRest(req, res, body)) return
      if (handleRoleCredentials(state, req, res)) return
      if (handleAgentPackage(options.agentPackages, req, res)) return
      if (options.latencyMs > 0) await new Promise((r) => setTimeout(r, options.latencyMs))
      if (req.method !== 'POST') throw new ApiError('UnknownOperationException', '', 404)
      const path = (req.url ?? '/').split('?')[0] as string
      const signed = { method: 'POST', path, headers: req.headers, body }
      const [targetPrefix, targetOp = ''] = target.split('.')
      // a hybrid node's own calls: unsigned (registration) or RSA-signed with its registered key
      const nodeCall = targetPrefix === 'AmazonSSM' && AGENT_AUTH[targetOp] !== undefined
      if (nodeCall) operation = targetOp
      const { service: signedService, credential: caller } = nodeCall
        ? { service: 'ssm', credential: authenticateAgent(state, targetOp, signed) }
        : verifySignature(signed, state, protocol, state.now())
      if (protocol === 'json') {
        const [prefix = '', op = ''] = target.split('.')
        const entry = targets[prefix]
        operation = op
        if (entry) service = entry.service
        const fn = entry?.operations[op]
        if (!entry || !fn || signedService !== entry.service)
          throw new ApiError('UnknownOperationException', '', 400, null)
        if (options.faults.throttle > 0 && options.random() < options.faults.throttle)
          throw throttleError[service] as ApiError
        let parsed: Body
        try {
          const text = body.toString('utf8')
          parsed = text.trim() === '' ? {} : (JSON.parse(text) as Body)
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
            throw new Error('not an object')
        } catch {
          throw new ApiError(
            'SerializationException',
            'Start of structure or map found where not expected.',
            400,
          )
        }
        authorizeCaller(
          state,
          caller,
          entry.service,
          accessOf(entry.access, entry.service, op, state, parsed),
        )
        const out = await fn(state, parsed, { requestId, options, caller })
        record(200)
        sendJson(res, 200, requestId, out)
        return
      }
      const form = new URLSearchParams(body.toString('utf8'))
      operation = form.get('Action') ?? 'Unknown'
      if (signedService === 'sts') {
        service = 'sts'
        const ok = operation === 'GetCallerIdentity'
        const xml = ok
          ? getCallerIdentityXml(state, caller.principal, requestId)
          : stsErrorXml(
              'InvalidAction',
              `Could not find operation ${operation} for version 2011-06-15`,
              requestId,
            )
        record(ok ? 200 : 400, ok ? undefined : 'InvalidAction')
        res.writeHead(ok ? 200 : 400, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId })
        res.end(xml)
        return
      }
      if (signedService === 'iam') {
        service = 'iam'
        let status = 200
        let errorCode: string | undefined
        let xml: string
        try {
          xml = handleIam(state, form, caller, requestId)
        } catch (error) {
          if (!(error instanceof ApiError)) throw error
          status = error.status
          errorCode = error.code
          xml = iamErrorXml(error, requestId)
        }
        record(status, errorCode)
        res.writeHead(status, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId })
        res.end(xml)
        return
      }
      service = 'ec2'
      if (options.faults.throttle > 0 && options.random() < options.faults.throttle)
        throw throttleError.ec2 as ApiError
      if (operation !== 'DescribeInstances' || signedService !== 'ec2') {
        throw new ApiError('InvalidAction', `The action ${operation} is not valid for this web service.`, 400)
      }
      authorizeCaller(state, caller, 'ec2', accessOf(undefined, 'ec2', operation, state, {}))
      const xml = describeInstances(state, form, requestId)
      record(200)
      res.writeHead(200, {
        'Content-Type': 'text/xml;charset=UTF-8',
        'Content-Length': Buffer.byteLength(xml),
        Date: new Date().toUTCString(),
      })
      res.end(xml)
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(
              protocol === 'json' ? 'InternalServerError' : 'InternalError',
              'An internal error occurred.',
              500,
            )
      record(apiError.status, apiError.code)
      sendError(res, protocol, requestId, apiError)
    }
  }
  return (req, res) => {
    handle(req, res).catch(() => res.destroy())
  }
}
