// A handshake that fails is one client's problem: counted by cause (a fixed set, so the
// metric's labels stay bounded) and logged with its cause at most once per LOG_INTERVAL_MS
// per frontend and cause, with how many were not logged since, so a flood of bad clients
// cannot fill the log nor slow the data plane.
import type { Logger } from '../observe/logger.js';

export const HANDSHAKE_CAUSES = [
  'timeout',
  'plain-http',
  'protocol-version',
  'no-shared-cipher',
  'client-certificate',
  'closed',
  'other',
] as const;
export type HandshakeCause = (typeof HANDSHAKE_CAUSES)[number];

const LOG_INTERVAL_MS = 10_000;

const WHAT: Record<HandshakeCause, string> = {
  timeout: 'the client did not complete the handshake in time',
  'plain-http': 'plain HTTP sent to the TLS port (answered 400)',
  'protocol-version': 'the client offered no protocol version this frontend accepts (min_version)',
  'no-shared-cipher': 'no cipher or group in common with the client',
  'client-certificate': 'the client certificate is missing or does not verify against client_ca',
  closed: 'the client closed the connection during the handshake',
  other: 'the handshake failed',
};

/** The cause of a handshake error, from Node's/OpenSSL's error code and reason. */
export function handshakeCause(err: unknown): HandshakeCause {
  const code = String((err as { code?: unknown })?.code ?? '');
  const text = `${code} ${(err as { reason?: unknown })?.reason ?? ''} ${(err as Error)?.message ?? ''}`.toUpperCase();
  if (/UNSUPPORTED_PROTOCOL|VERSION_TOO_LOW|WRONG_VERSION|NO_PROTOCOLS_AVAILABLE|PROTOCOL_VERSION/.test(text)) return 'protocol-version';
  if (/NO_SHARED_CIPHER|NO_SHARED_GROUP|HANDSHAKE_FAILURE_ALERT_NO_SHARED/.test(text)) return 'no-shared-cipher';
  if (/CERTIFICATE|PEER_DID_NOT_RETURN|UNKNOWN_CA|UNABLE_TO_VERIFY|SELF_SIGNED|CERT_/.test(text)) return 'client-certificate';
  if (/ECONNRESET|EPIPE|SOCKET HANG UP|ECONNABORTED/.test(text)) return 'closed';
  return 'other';
}

export class HandshakeFailureLog {
  private readonly last = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  report(frontend: string, cause: HandshakeCause, client: string, detail: string | undefined): void {
    const key = `${frontend} ${cause}`;
    const now = Date.now();
    const last = this.last.get(key);
    if (last !== undefined && now - last < LOG_INTERVAL_MS) {
      this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
      return;
    }
    this.last.set(key, now);
    const more = this.suppressed.get(key) ?? 0;
    this.suppressed.delete(key);
    this.log.info(`tls handshake failed: ${WHAT[cause]}`, {
      frontend,
      cause,
      client,
      ...(detail ? { detail } : {}),
      ...(more > 0 ? { not_logged_since: more } : {}),
    });
  }
}
