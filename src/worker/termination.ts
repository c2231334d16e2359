// Errors that end a request or a TCP connection, as the access log's Termination (the same
// words for both modes; docs/operations.md lists them all).
import { HandoffError } from '../lib/errors.js';
import type { Termination } from '../observe/access-entry.js';

/** Why waiting for a server slot failed (BackendRuntime.acquire's rejections). */
export function queueTermination(err: unknown): Termination {
  switch (err instanceof HandoffError ? err.code : '') {
    case 'HANDOFF_ERR_QUEUE_TIMEOUT':
      return 'queue-timeout';
    case 'HANDOFF_ERR_QUEUE_FULL':
      return 'queue-full';
    case 'HANDOFF_ERR_CLIENT_ABORT':
      return 'client-abort';
    default:
      return 'no-server';
  }
}
