// What an Exchange (one request/response pair) needs from its connection: the socket and
// its lifecycle. HttpConnection implements it; the Exchange never sees the connection's
// phases, only these calls.
import type net from 'node:net';
import type { Slot } from '../backend/types.js';
import type { AccessEntry, Termination } from '../observe/access-entry.js';
import type { ChunkedTracker } from './http/chunked-tracker.js';
import type { RequestHead } from './http/request-head.js';

/** What the connection's one deadline is waiting for. */
export type DeadlineKind = 'request' | 'keep-alive' | 'server' | 'client' | 'closing';

export interface ExchangeHost {
  readonly socket: net.Socket;
  readonly clientAddress: string;
  /** A TLS connection: X-Forwarded-Proto https, ${tls.*} variables, never migrated (tls-accept.ts). */
  readonly secure: boolean;
  /** A drain asked the connection to leave ('close': Connection: close on this response). */
  readonly leaveMode: 'close' | 'migrate' | undefined;
  /** The connection came from an older generation (access log `migrated`). */
  readonly migratedIn: boolean;
  readonly deadlineKind: DeadlineKind;
  deadline: number;
  setDeadline(kind: DeadlineKind, ms: number): void;
  /** The unparsed input, taken (body bytes that came with the head). */
  takeInput(): Buffer | undefined;
  /** Bytes after this request's body: the next (pipelined) request. */
  bufferNext(chunk: Buffer): void;
  pauseReading(): void;
  resumeClient(): void;
  /** Chunked-body trackers, reused across the connection's exchanges. */
  requestTracker(): ChunkedTracker;
  responseTracker(): ChunkedTracker;
  /** The response starts (a server's head or handoff's own page). */
  writing(): void;
  /** The exchange in flight is over (logged): keep-alive, the next pipelined request, or close. */
  done(termination: Termination): void;
  /** The exchange in flight could not finish (logged): reset the connection. */
  aborted(termination: Termination): void;
  /** A 101: the head goes out and a TunnelSession takes both sockets and the log entry. */
  upgraded(head: string, serverRest: Buffer, server: net.Socket, slot: Slot | undefined, entry: AccessEntry): void;
}

/** The request of an exchange handoff answers before any head was parsed (bad head, slow head). */
export const NO_REQUEST: RequestHead = Object.freeze({
  method: '-',
  target: '',
  path: '',
  authority: undefined,
  versionMinor: 1,
  headers: [],
  host: undefined,
  contentLength: -1,
  chunked: false,
  keepAlive: false,
  connectionTokens: [],
  upgrade: undefined,
  expect: undefined,
  expectContinue: false,
  headBytes: 0,
}) as RequestHead;
