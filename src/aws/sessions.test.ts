import { describe, expect, it } from 'vitest'
import { SessionGoneError } from '../support/errors.ts'
import type { AwsClients } from './clients.ts'
import { resumeSession } from './sessions.ts'

const clientsAnswering = (answer: () => Promise<unknown>) => ({ ssmCall: answer }) as unknown as AwsClients

describe('ResumeSession that the service refuses says the session timed out, and is not retried', () => {
  it('an answer without TokenValue', async () => {
    const r = resumeSession(
      clientsAnswering(async () => ({ SessionId: 's-1' })),
      's-1',
    )
    await expect(r).rejects.toBeInstanceOf(SessionGoneError)
    await expect(r).rejects.toThrow('session s-1 timed out')
  })

  it('DoesNotExistException', async () => {
    const error = Object.assign(new Error('Session with id s-1 does not exist.'), {
      name: 'DoesNotExistException',
    })
    const r = resumeSession(
      clientsAnswering(() => Promise.reject(error)),
      's-1',
    )
    await expect(r).rejects.toBeInstanceOf(SessionGoneError)
  })

  it('anything else is an ordinary error, retried by the session', async () => {
    const r = resumeSession(
      clientsAnswering(() =>
        Promise.reject(Object.assign(new Error('boom'), { name: 'InternalServerError' })),
      ),
      's-1',
    )
    await expect(r).rejects.not.toBeInstanceOf(SessionGoneError)
  })
})
