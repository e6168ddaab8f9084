import { describe, expect, it } from 'vitest'
import { redact } from './redact.ts'

describe('redact', () => {
  it.each([
    [
      '{"SessionId":"s-1","TokenValue":"AAEAAsecret","StreamUrl":"x"}',
      '{"SessionId":"s-1","TokenValue":"<redacted>","StreamUrl":"x"}',
    ],
    [
      'dial wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/s-1?role=publish_subscribe&cell-number=AAA',
      'dial wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/s-1?<redacted>',
    ],
    ['key ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0 me@host', 'key ssh-ed25519 <redacted key> me@host'],
    [
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----',
      '<redacted private key>',
    ],
    ['aws_secret_access_key=abc123', 'aws_secret_access_key=<redacted>'],
    ['nothing secret here', 'nothing secret here'],
  ])('%s', (input, expected) => {
    expect(redact(input)).toBe(expected)
  })
})
