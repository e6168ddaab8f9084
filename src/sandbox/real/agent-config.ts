// The agent's two files in /etc/amazon/ssm, after shared/tools/amazon-ssm-agent/reference/: every AWS
// endpoint on the sandbox and either an identity the agent takes as given (it never registers or asks
// instance metadata who it is), or, for a Pi that registers itself, the OnPrem identity
// (`amazon-ssm-agent -register` writes it to /var/lib/amazon/ssm) with the credentials it rotates
// shared in root's /root/.aws/credentials, profile "default" (ShareProfile empty: sharedCredentials.Store).
export interface AgentConfigOptions {
  /** the identity given (CustomIdentity) */
  instanceId?: string
  /** or: the node registers itself and takes the OnPrem identity */
  selfRegistered?: boolean
  region: string
  /** the port the agent dials on 127.0.0.1 inside its network namespace */
  servicePort: number
}

export function agentConfigJson({
  instanceId,
  selfRegistered,
  region,
  servicePort,
}: AgentConfigOptions): string {
  // Mgs.Endpoint needs the scheme: a bare host:port fails to parse and the agent silently falls back
  // to the public ssmmessages endpoint (shared/tools/amazon-ssm-agent/README.md).
  const endpoint = `https://127.0.0.1:${servicePort}`
  const config = {
    Profile: selfRegistered ? { ShareCreds: true, ShareProfile: '' } : { ShareCreds: false },
    Mds: { Endpoint: endpoint, CommandWorkersLimit: 5, StopTimeoutMillis: 20000, CommandRetryLimit: 15 },
    Ssm: { Endpoint: endpoint, HealthFrequencyMinutes: 5, SessionLogsDestination: 'none' },
    Mgs: { Region: region, Endpoint: endpoint, StopTimeoutMillis: 20000, SessionWorkersLimit: 1000 },
    Agent: {
      Region: region,
      SelfUpdate: false,
      TelemetryMetricsToCloudWatch: false,
      TelemetryMetricsToSSM: false,
    },
    Os: { Lang: 'en-US', Name: '', Version: '1' },
    S3: { Endpoint: endpoint, Region: region },
    Kms: { Endpoint: endpoint },
    Identity: selfRegistered
      ? { ConsumptionOrder: ['OnPrem'] }
      : {
          ConsumptionOrder: ['CustomIdentity'],
          CustomIdentities: [{ InstanceID: instanceId, Region: region, CredentialsProvider: 'DEFAULT' }],
        },
  }
  return `${JSON.stringify(config, null, 2)}\n`
}

/**
 * The reference seelog.xml without its console output: the agent's stdout goes to a file beside the
 * log files, and debug lines written twice only slow it down. Panics still reach that file on stderr.
 */
export const SEELOG_XML = `<seelog type="adaptive" mininterval="2000000" maxinterval="100000000" critmsgcount="500" minlevel="debug">
    <exceptions>
        <exception filepattern="test*" minlevel="error"/>
    </exceptions>
    <outputs formatid="fmtinfo">
        <rollingfile type="size" filename="/var/log/amazon/ssm/amazon-ssm-agent.log" maxsize="30000000" maxrolls="5"/>
        <filter levels="error,critical" formatid="fmterror">
            <rollingfile type="size" filename="/var/log/amazon/ssm/errors.log" maxsize="10000000" maxrolls="5"/>
        </filter>
    </outputs>
    <formats>
        <format id="fmterror" format="%Date(2006-01-02 15:04:05.0000) %LEVEL [%FuncShort @ %File.%Line] %Msg%n"/>
        <format id="fmtinfo" format="%Date(2006-01-02 15:04:05.0000) %LEVEL %Msg%n"/>
    </formats>
</seelog>
`
