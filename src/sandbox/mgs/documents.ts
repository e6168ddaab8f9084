// What MGS hands the agent: the session document resolved with StartSession's parameters
// (interactive_shell, agent-service-protocol.md §4), and the Run Command document of an agent_job.
import type { SimSession } from '../model.ts'

export interface SessionDocument {
  schemaVersion: string
  description: string
  sessionType: 'Port' | 'Standard_Stream'
  inputs: Record<string, unknown>
  properties: Record<string, string>
}

const inputs = {
  s3BucketName: '',
  s3KeyPrefix: '',
  s3EncryptionEnabled: false,
  cloudWatchLogGroupName: '',
  cloudWatchEncryptionEnabled: false,
  kmsKeyId: '',
  runAsEnabled: false,
  runAsDefaultUser: '',
  idleSessionTimeout: '20',
  shellProfile: { linux: '', windows: '' },
}

/** The document's properties with {{ parameters }} filled in, as AWS's own documents declare them. */
export function sessionDocumentFor(session: SimSession): SessionDocument {
  const p = (name: string, fallback = '') => session.parameters[name]?.[0] ?? fallback
  const base = { schemaVersion: '1.0', inputs }
  switch (session.documentName) {
    case 'AWS-StartSSHSession':
      return {
        ...base,
        description: 'Document to start SSH session',
        sessionType: 'Port',
        properties: { portNumber: p('portNumber', '22') },
      }
    case 'AWS-StartPortForwardingSession':
      return {
        ...base,
        description: 'Document to start port forwarding session over Session Manager',
        sessionType: 'Port',
        properties: {
          portNumber: p('portNumber', '80'),
          type: 'LocalPortForwarding',
          localPortNumber: p('localPortNumber', '0'),
        },
      }
    case 'AWS-StartPortForwardingSessionToRemoteHost':
      return {
        ...base,
        description: 'Document to start port forwarding session over Session Manager to a remote host',
        sessionType: 'Port',
        properties: {
          portNumber: p('portNumber', '80'),
          type: 'LocalPortForwarding',
          host: p('host'),
          localPortNumber: p('localPortNumber', '0'),
        },
      }
    default:
      return {
        ...base,
        description: 'Document to hold regional settings for Session Manager',
        sessionType: 'Standard_Stream',
        properties: {},
      }
  }
}

/** AWS-RunShellScript as the service sends it in an agent_job (schema 1.2, one aws:runShellScript). */
export function runShellScriptDocument(parameters: Record<string, string[]>): unknown {
  return {
    schemaVersion: '1.2',
    description: 'Run a shell script.',
    runtimeConfig: {
      'aws:runShellScript': {
        properties: [
          {
            id: '0.aws:runShellScript',
            runCommand: parameters.commands ?? [],
            ...(parameters.workingDirectory?.[0] ? { workingDirectory: parameters.workingDirectory[0] } : {}),
            timeoutSeconds: parameters.executionTimeout?.[0] ?? '3600',
          },
        ],
      },
    },
  }
}
