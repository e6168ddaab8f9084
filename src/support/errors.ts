// Typed errors: every failure the user can see is one of these, printed once by main.ts.
// Exit codes follow docs in README (table "Exit codes").

export interface ErrorOptions {
  hint?: string
  cause?: unknown
}

export class CliError extends Error {
  readonly exitCode: number = 1
  readonly hint: string | undefined
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.hint = options.hint
  }
}

/** Bad flags or arguments. */
export class UsageError extends CliError {
  override readonly exitCode = 2
}

/** Missing or expired credentials, access denied. */
export class AuthError extends CliError {
  override readonly exitCode = 3
}

/** Unknown, unmanaged, offline, too old or ambiguous target. */
export class TargetError extends CliError {
  override readonly exitCode = 4
}

/** The data channel failed: handshake, timeout, peer closed, endpoint unreachable. */
export class SessionError extends CliError {
  override readonly exitCode = 5
}

/** The service will not resume this session (no token, or no such session): trying again cannot help. */
export class SessionGoneError extends SessionError {}

/** Ctrl-C or Esc: 128 + SIGINT, as shells report it. */
export class CancelledError extends CliError {
  override readonly exitCode = 130
}

/** A child (ssh, a remote command) exited non-zero: pass its own code through. */
export class ChildExitError extends CliError {
  override readonly exitCode: number
  constructor(message: string, code: number, options: ErrorOptions = {}) {
    super(message, options)
    this.exitCode = code
  }
}

export function exitCodeOf(error: unknown): number {
  return error instanceof CliError ? error.exitCode : 1
}
