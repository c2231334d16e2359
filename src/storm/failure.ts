// Turning what a socket did into a failure kind, and the key a failure is counted under in
// the report ("reset", "http-503", "socket-error EADDRNOTAVAIL").
import { systemCode } from '../lib/errors.js';
import type { Failure, FailureKind } from './types.js';

export function failure(kind: FailureKind, detail: string, extra: { status?: number; code?: string } = {}): Failure {
  return { kind, detail, ...extra };
}

/** A socket error: before the connection was up (connecting), or after `received` response bytes. */
export function socketFailure(err: unknown, phase: 'connect' | 'response', received: number): Failure {
  const code = systemCode(err) ?? 'UNKNOWN';
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ECONNREFUSED') return failure('refused', message, { code });
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return failure(
      'reset',
      phase === 'connect'
        ? `reset while connecting: ${message}`
        : received > 0
          ? `reset after ${received} response bytes`
          : 'reset before any response byte',
      { code },
    );
  }
  if (code === 'ETIMEDOUT') return failure('timeout', message, { code });
  return failure('socket-error', message, { code });
}

/** The peer closed (FIN) before the response was complete. */
export function eofFailure(received: number): Failure {
  return received > 0
    ? failure('truncated', `connection closed after ${received} bytes of an incomplete response`)
    : failure('eof', 'connection closed before any byte of the response');
}

export function statusFailure(status: number, detail: string): Failure {
  return failure('http-status', detail, { status });
}

/** The report's grouping key. */
export function failureKey(f: Failure): string {
  if (f.kind === 'http-status') return `http-${f.status}`;
  if (f.kind === 'socket-error') return `socket-error ${f.code ?? ''}`.trim();
  if (f.kind === 'tls-handshake') return `tls-handshake ${f.code ?? ''}`.trim();
  return f.kind;
}
