// The simulated agent starts its handshake when StartSession reaches it, as the real agent does when
// its data channel opens, not when the client connects: the request waits for the client, and the
// handshake's time and the agent's 15 s timeout count from StartSession.
import { SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { MessageType, PayloadType } from '../../protocol/constants.ts'
import { decodeMessage, encodeMessage } from '../../protocol/message.ts'
import {
  encodeAcknowledge,
  encodeHandshakeResponse,
  encodeOpenDataChannelInput,
  parseHandshakeComplete,
  parseHandshakeRequest,
} from '../../protocol/payloads.ts'
import { type Sandbox, startSandbox } from '../sandbox.ts'

describe('simulated agent: handshake timing', () => {
  let box: Sandbox
  beforeAll(async () => {
    box = await startSandbox({ fleet: 3 })
  })
  afterAll(async () => box.close())

  it('sends its HandshakeRequest before the client connects and counts the handshake from StartSession', async () => {
    const ssm = new SSMClient({
      endpoint: box.endpoint,
      region: box.region,
      credentials: { accessKeyId: box.accessKeyId, secretAccessKey: box.secretAccessKey },
    })
    const target = [...box.state.instances.values()][0]?.id as string
    const started = await ssm.send(
      new StartSessionCommand({ Target: target, DocumentName: 'AWS-StartSSHSession' }),
    )
    await new Promise((r) => setTimeout(r, 400))
    const ws = new WebSocket(started.StreamUrl as string)
    await new Promise((r) => ws.once('open', r))
    const frames: ReturnType<typeof decodeMessage>[] = []
    const next = (type: number) =>
      new Promise<ReturnType<typeof decodeMessage>>((resolve) => {
        const look = () => {
          const hit = frames.find(
            (f) => f.messageType === MessageType.OutputStreamData && f.payloadType === type,
          )
          if (hit) resolve(hit)
          else setTimeout(look, 10)
        }
        look()
      })
    ws.on('message', (data: Buffer) => frames.push(decodeMessage(data)))
    ws.send(
      encodeOpenDataChannelInput({
        MessageSchemaVersion: '1.0',
        RequestId: '0d7a3f4e-1b2c-4d5e-8f90-a1b2c3d4e5f6',
        TokenValue: started.TokenValue as string,
        ClientId: '1d7a3f4e-1b2c-4d5e-8f90-a1b2c3d4e5f6',
        ClientVersion: '1.2.764.0',
      }),
    )
    const request = await next(PayloadType.HandshakeRequest)
    expect(parseHandshakeRequest(request.payload).AgentVersion).toBe('3.3.1142.0')
    ws.send(encodeAcknowledge(request, Date.now()))
    ws.send(
      encodeMessage({
        messageType: MessageType.InputStreamData,
        sequenceNumber: 0,
        flags: 0,
        payloadType: PayloadType.HandshakeResponse,
        payload: encodeHandshakeResponse({
          ClientVersion: '1.2.764.0',
          ProcessedClientActions: [
            { ActionType: 'SessionType', ActionStatus: 1, ActionResult: null, Error: '' },
          ],
          Errors: [],
        }),
      }),
    )
    const complete = parseHandshakeComplete((await next(PayloadType.HandshakeComplete)).payload)
    // Go's time.Duration: nanoseconds, here at least the 400 ms the client took to connect
    expect(complete.HandshakeTimeToComplete).toBeGreaterThanOrEqual(400_000_000)
    ws.terminate()
  })
})
