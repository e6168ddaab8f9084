// Hybrid activations: CreateActivation / DescribeActivations / DeleteActivation (aws-api-notes.md
// §2.11), and registerWithActivation, the check RegisterManagedInstance makes before it issues an mi- id.
import { randomBytes, randomUUID } from 'node:crypto'
import type { SandboxState, SimActivation } from '../model.ts'
import { ApiError, awsError } from './errors.ts'
import { decodeToken, page } from './pagination.ts'
import { TAG_TEXT, tagMap } from './tag-list.ts'
import { type Body, Checker } from './validate.ts'

const ACTIVATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const DAY_MS = 24 * 3600 * 1000
/** "You can specify a date up to 30 days in advance" (CreateActivation's model text) */
export const MAX_ACTIVATION_DAYS = 30
const FILTER_KEYS = ['ActivationIds', 'DefaultInstanceName', 'IamRole']

// The model's own descriptions of the two errors; real replies to these were not found quoted.
const INVALID_ACTIVATION =
  "The activation isn't valid. The activation might have been deleted, or the ActivationId and the ActivationCode don't match."
const INVALID_ACTIVATION_ID =
  "The activation ID isn't valid. Verify that you entered the correct ActivationId or ActivationCode and try again."

/** A code like the console shows: 20 letters and digits, from a secure random source. */
function newActivationCode(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  return [...randomBytes(20)].map((b) => alphabet[b % alphabet.length]).join('')
}

export function isExpired(activation: SimActivation, now: Date): boolean {
  return activation.expirationDate.getTime() <= now.getTime()
}

export function createActivation(state: SandboxState, body: Body) {
  new Checker(body)
    .required('IamRole')
    .length('IamRole', 0, 64)
    .length('Description', 0, 256)
    .length('DefaultInstanceName', 0, 256)
    .pattern('DefaultInstanceName', TAG_TEXT)
    .range('RegistrationLimit', 1, 1000)
    .done()
  const tags = tagMap(body.Tags)
  const now = state.now()
  let expirationDate = new Date(now.getTime() + DAY_MS)
  if (body.ExpirationDate !== undefined) {
    const seconds = Number(body.ExpirationDate)
    if (!Number.isFinite(seconds))
      throw new ApiError('SerializationException', 'Expected a number for ExpirationDate.', 400)
    expirationDate = new Date(seconds * 1000)
    // [U] wording: AWS documents the rule ("up to 30 days in advance"), not its error text
    if (expirationDate.getTime() <= now.getTime())
      throw new ApiError('ValidationException', 'ExpirationDate must be a date in the future.', 400)
    if (expirationDate.getTime() > now.getTime() + MAX_ACTIVATION_DAYS * DAY_MS)
      throw new ApiError(
        'ValidationException',
        `ExpirationDate must be no more than ${MAX_ACTIVATION_DAYS} days from now.`,
        400,
      )
  }
  const activation: SimActivation = {
    activationId: randomUUID(),
    activationCode: newActivationCode(),
    ...(typeof body.Description === 'string' ? { description: body.Description } : {}),
    ...(typeof body.DefaultInstanceName === 'string'
      ? { defaultInstanceName: body.DefaultInstanceName }
      : {}),
    iamRole: body.IamRole as string,
    registrationLimit: (body.RegistrationLimit as number | undefined) ?? 1,
    registrationsCount: 0,
    expirationDate,
    createdDate: now,
    tags,
  }
  state.activations.set(activation.activationId, activation)
  return { ActivationId: activation.activationId, ActivationCode: activation.activationCode }
}

function view(activation: SimActivation, now: Date) {
  return {
    ActivationId: activation.activationId,
    ...(activation.description !== undefined ? { Description: activation.description } : {}),
    ...(activation.defaultInstanceName !== undefined
      ? { DefaultInstanceName: activation.defaultInstanceName }
      : {}),
    IamRole: activation.iamRole,
    RegistrationLimit: activation.registrationLimit,
    RegistrationsCount: activation.registrationsCount,
    ExpirationDate: activation.expirationDate.getTime() / 1000,
    Expired: isExpired(activation, now),
    CreatedDate: activation.createdDate.getTime() / 1000,
    Tags: [...activation.tags].map(([Key, Value]) => ({ Key, Value })),
  }
}

export function describeActivations(state: SandboxState, body: Body) {
  new Checker(body).range('MaxResults', 1, 50).done()
  const filters = (body.Filters ?? []) as Array<{ FilterKey?: string; FilterValues?: string[] }>
  filters.forEach((f, i) => {
    new Checker(f as Body).oneOf('FilterKey', FILTER_KEYS).done()
    void i
  })
  const matches = (a: SimActivation) =>
    filters.every((f) => {
      const values = f.FilterValues ?? []
      if (values.length === 0) return true
      if (f.FilterKey === 'ActivationIds') return values.includes(a.activationId)
      if (f.FilterKey === 'IamRole') return values.includes(a.iamRole)
      if (f.FilterKey === 'DefaultInstanceName') return values.includes(a.defaultInstanceName ?? '')
      return true
    })
  const now = state.now()
  const all = [...state.activations.values()].filter(matches)
  const offset = decodeToken('DescribeActivations', body.NextToken)
  const { items, nextToken } = page('DescribeActivations', all, offset, (body.MaxResults as number) ?? 50)
  return { ActivationList: items.map((a) => view(a, now)), ...(nextToken ? { NextToken: nextToken } : {}) }
}

export function deleteActivation(state: SandboxState, body: Body) {
  new Checker(body)
    .required('ActivationId')
    .length('ActivationId', 36, 36)
    .pattern('ActivationId', ACTIVATION_ID)
    .done()
  const id = body.ActivationId as string
  if (!state.activations.delete(id)) throw awsError('InvalidActivationId', INVALID_ACTIVATION_ID)
  return {}
}

/**
 * The activation checks of RegisterManagedInstance: the id and code must name a listed activation,
 * not expired and not full; on success it counts one more registration and returns the activation
 * (whose role, DefaultInstanceName and tags the new mi- node takes). The errors are the ones the
 * agent's SDK model lists for RegisterManagedInstance: InvalidActivation, ActivationExpired,
 * RegistrationLimitExceeded.
 */
export function registerWithActivation(
  state: SandboxState,
  id: string,
  code: string,
  now: Date,
): SimActivation {
  const activation = state.activations.get(id)
  if (!activation || activation.activationCode !== code)
    throw awsError('InvalidActivation', INVALID_ACTIVATION)
  if (isExpired(activation, now)) throw awsError('ActivationExpired', 'Activation has expired.')
  if (activation.registrationsCount >= activation.registrationLimit)
    throw awsError('RegistrationLimitExceeded', 'Registration limit of the activation has been exceeded.')
  activation.registrationsCount++
  return activation
}
