// A malformed HTTP/1 message. The proxy answers a bad request with `status` and closes the
// connection; a bad response from a server becomes a 502 for the client. `reason` is short
// and stable enough for logs and tests; code (not reason) is what callers branch on.

import { HandoffError } from '../../lib/errors.js';

/** Which side sent the malformed message: a client's request or a server's response. */
export type HttpMessageKind = 'request' | 'response';

/**
 * The status the proxy should answer with: 400 bad syntax, 414 request line too long,
 * 431 header section too large, 501 unsupported transfer coding, 505 unsupported version;
 * 502 for every response error.
 */
export type HttpErrorStatus = 400 | 414 | 431 | 501 | 502 | 505;

/**
 * Thrown by the head scanner, the head parsers and the chunked tracker.
 * Requests: code HANDOFF_ERR_BAD_REQUEST, source 'client', status as given.
 * Responses: code HANDOFF_ERR_BAD_RESPONSE, source 'server', status always 502 (the shared
 * parsing code passes the request-side status; a response turns it into a 502).
 */
export class HttpParseError extends HandoffError {
  readonly kind: HttpMessageKind;
  readonly status: HttpErrorStatus;
  readonly reason: string;

  constructor(kind: HttpMessageKind, status: HttpErrorStatus, reason: string) {
    const request = kind === 'request';
    super(
      request ? 'HANDOFF_ERR_BAD_REQUEST' : 'HANDOFF_ERR_BAD_RESPONSE',
      request ? 'client' : 'server',
      `${request ? 'bad request' : 'bad response'}: ${reason}`,
    );
    this.name = 'HttpParseError';
    this.kind = kind;
    this.status = request ? status : 502;
    this.reason = reason;
  }
}
