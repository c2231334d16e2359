// One error type for the whole project: every error handoff raises is a HandoffError (or a
// subclass that fixes its code). It carries a stable code (never match on message text),
// where it came from, and whether retrying the operation elsewhere is safe. The CLI prints
// `code: message` (describeError). Every code below has a producer; remove a code with its
// last producer.

export type ErrorSource = 'client' | 'server' | 'config' | 'internal';

export type ErrorCode =
  | 'HANDOFF_ERR_CONFIG'
  | 'HANDOFF_ERR_BIND'
  | 'HANDOFF_ERR_CONNECT'
  | 'HANDOFF_ERR_CONNECT_TIMEOUT'
  | 'HANDOFF_ERR_TLS_VERIFY' // TLS to a server: its certificate was refused
  | 'HANDOFF_ERR_TLS_HANDSHAKE' // TLS to a server: the handshake failed or timed out
  | 'HANDOFF_ERR_NO_SERVER'
  | 'HANDOFF_ERR_QUEUE_TIMEOUT'
  | 'HANDOFF_ERR_QUEUE_FULL'
  | 'HANDOFF_ERR_BAD_RESPONSE'
  | 'HANDOFF_ERR_BAD_REQUEST'
  | 'HANDOFF_ERR_CLIENT_ABORT'
  | 'HANDOFF_ERR_RELOAD'
  | 'HANDOFF_ERR_APPLY_FAILED'
  | 'HANDOFF_ERR_CONTROL'
  | 'HANDOFF_ERR_SPAWN'
  | 'HANDOFF_ERR_UNSAFE_PATH'
  | 'HANDOFF_ERR_USAGE'
  | 'HANDOFF_ERR_INTERNAL';

export class HandoffError extends Error {
  readonly code: ErrorCode;
  readonly source: ErrorSource;
  readonly retryable: boolean;

  constructor(code: ErrorCode, source: ErrorSource, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HandoffError';
    this.code = code;
    this.source = source;
    this.retryable = options.retryable ?? false;
  }
}

/** `code: message` for a HandoffError, the message for any other Error: what the CLI prints. */
export function describeError(err: unknown): string {
  if (err instanceof HandoffError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** The errno-style code of a Node system error ("ECONNREFUSED"), or undefined. */
export function systemCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}
