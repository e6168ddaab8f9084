// Opaque NextTokens: base64url of the operation and offset with a short MAC, so garbage or a token
// from another operation is InvalidNextToken, as AWS answers.
import { createHmac, randomBytes } from 'node:crypto'
import { ApiError, awsError } from './errors.ts'

const secret = randomBytes(16)

function mac(text: string): string {
  return createHmac('sha256', secret).update(text).digest('base64url').slice(0, 16)
}

export function encodeToken(operation: string, offset: number): string {
  const body = `${operation}:${offset}`
  return Buffer.from(`${body}:${mac(body)}`).toString('base64url')
}

export function decodeToken(operation: string, token: unknown, code = 'InvalidNextToken'): number {
  if (token === undefined || token === null || token === '') return 0
  const text = typeof token === 'string' ? Buffer.from(token, 'base64url').toString('utf8') : ''
  const [op, offset, sig] = text.split(':')
  if (op !== operation || offset === undefined || sig !== mac(`${op}:${offset}`) || !/^\d+$/.test(offset)) {
    throw code === 'InvalidNextToken'
      ? awsError('InvalidNextToken', 'The specified token is not valid.')
      : new ApiError(code, 'Invalid token', 400)
  }
  return Number(offset)
}

/** One page of `items` from `offset`; the token is absent on the last page. */
export function page<T>(
  operation: string,
  items: T[],
  offset: number,
  size: number,
): { items: T[]; nextToken?: string } {
  const slice = items.slice(offset, offset + size)
  const next = offset + size
  return next < items.length ? { items: slice, nextToken: encodeToken(operation, next) } : { items: slice }
}
