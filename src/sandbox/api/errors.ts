// AWS error replies: JSON 1.1 ({"__type", "Message"|"message"}) and EC2 Query (XML).

export type Protocol = 'json' | 'query'

export class ApiError extends Error {
  readonly code: string
  readonly status: number
  /** JSON member that carries the text: most SSM errors use Message, a few message, some none */
  readonly messageKey: 'Message' | 'message' | null
  readonly extra: Record<string, unknown>
  constructor(
    code: string,
    message: string,
    status = 400,
    messageKey: 'Message' | 'message' | null = 'Message',
    extra: Record<string, unknown> = {},
  ) {
    super(message)
    this.code = code
    this.status = status
    this.messageKey = messageKey
    this.extra = extra
  }
}

// aws-api-notes.md §1.4: which member carries the text, per the model
const lowerCaseMessage = new Set([
  'InvalidInstanceInformationFilterValue',
  'InvalidInstancePropertyFilterValue',
])
const noMessage = new Set([
  'InvalidFilterKey',
  'DuplicateInstanceId',
  'InvalidOutputFolder',
  'InvalidCommandId',
  'InvalidPluginName',
  'InvocationDoesNotExist',
  'InvalidResourceType',
  'InvalidResourceId',
  'TooManyTagsError',
])

/** An SSM / EIC client error with the status and message member AWS uses for that code. */
export function awsError(code: string, message = '', status = 400): ApiError {
  const key = noMessage.has(code) ? null : lowerCaseMessage.has(code) ? 'message' : 'Message'
  return new ApiError(code, message, status, key)
}

/** Coral-style constraint violations: "1 validation error detected: Value 'x' at 'member' failed to satisfy constraint: …" */
export class Violations {
  private readonly items: string[] = []
  add(value: unknown, member: string, constraint: string): void {
    const shown = Array.isArray(value)
      ? `[${value.join(', ')}]`
      : value === undefined
        ? 'null'
        : String(value)
    this.items.push(
      value === undefined
        ? `Value null at '${member}' failed to satisfy constraint: Member must not be null`
        : `Value '${shown}' at '${member}' failed to satisfy constraint: ${constraint}`,
    )
  }
  throwIfAny(code = 'ValidationException', status = 400): void {
    if (this.items.length === 0) return
    const n = this.items.length
    throw new ApiError(
      code,
      `${n} validation error${n === 1 ? '' : 's'} detected: ${this.items.join('; ')}`,
      status,
    )
  }
}

export function xmlEscape(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string,
  )
}
