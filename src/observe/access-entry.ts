// One access-log entry (HTTP: one request; TCP: one connection) and the one vocabulary of
// why it ended, shared by both modes. Every Termination value is documented in
// docs/operations.md ("Access log", the termination table); add a value there too.

/**
 * Why a request (HTTP) or a connection (TCP) ended. kebab-case, stable: operators grep and
 * alert on these. `ok` is a complete exchange; the rest say what failed, on which side.
 */
export type Termination =
  | 'ok'
  // handoff answered the request itself (no server involved, or none usable)
  | 'no-route'
  | 'no-backend'
  | 'no-server'
  | 'queue-timeout'
  | 'queue-full'
  | 'local-resources'
  | 'connect-not-supported'
  | 'incomplete-request'
  | 'bad-request'
  | 'bad-request-body'
  // server side
  | 'connect-failed'
  | 'server-timeout'
  | 'server-reset'
  | 'server-closed'
  | 'server-reset-mid-response'
  | 'server-closed-mid-response'
  | 'bad-response'
  | 'bad-response-body'
  | 'unexpected-101'
  | 'server-error'
  // client side
  | 'http-request-timeout'
  | 'client-timeout'
  | 'client-abort'
  | 'client-error'
  // tunnels (WebSocket after 101, TCP mode)
  | 'tunnel-timeout'
  // TLS passthrough (tcp routes by sni) and TLS to servers
  | 'bad-client-hello'
  | 'client-hello-timeout'
  | 'client-closed'
  | 'tls-verify-failed'
  | 'tls-handshake-failed'
  // the worker ended it
  | 'killed'
  | 'migrated';

export interface AccessEntry {
  time: string;
  generation: number;
  pid: number;
  client: string;
  frontend: string;
  /** HTTP: the Host (or the absolute-form authority) as the client sent it. */
  host?: string | undefined;
  /** HTTP: handoff's id of this request (`${request.id}` in header rules). */
  request_id?: string | undefined;
  /** HTTP: the X-Request-Id the client sent, if any (forwarded unchanged unless a header rule sets it). */
  client_request_id?: string | undefined;
  route?: string | undefined;
  backend?: string | undefined;
  server?: string | undefined;
  method?: string;
  path?: string;
  protocol?: 'HTTP/1.0' | 'HTTP/1.1';
  status?: number;
  user_agent?: string | undefined;
  referer?: string | undefined;
  bytes_in: number;
  bytes_out: number;
  /** Milliseconds: queue wait, connect, until response headers, total. */
  timings: { queue?: number; connect?: number; response?: number; total: number };
  /** Why the request or connection ended: ok, or what went wrong and on which side. */
  termination: Termination;
  retries?: number;
  migrated?: boolean;
}
