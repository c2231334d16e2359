// TLS from handoff to servers (backend/server `tls`): the handshake over an already
// connected TCP socket, the verification, and what a failure means.
//
//   const s = await startUpstreamTls(tcpSocket, server.address, server.tls, remainingMs);
//
// - Verification (verify: true, the default): the chain must lead to `ca` (or the system
//   roots without one), and the certificate must name `sni`, or, without sni, hold the
//   server's IP address as an IP SAN. The handshake itself never rejects: handoff looks at
//   the result and classifies it, so a bad certificate is `tls-verify-failed` and anything
//   else `tls-handshake-failed` (HandoffError codes HANDOFF_ERR_TLS_VERIFY / _HANDSHAKE).
//   No byte of a request is written before the verdict.
// - Bounded: the handshake shares the connect timeout with the TCP connect.
// - One SecureContext per settings object (the CA parsed once per config, not per connection),
//   and the last TLS session per server and settings for resumption (bounded map).
// - Every TLS socket is tagged with the settings it was made with: the keep-alive pool reuses
//   a connection only for a server whose settings are still the same (never plain for TLS or
//   the reverse, never a connection verified against another CA or name).
import { constants, createHash } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import type { Server, SocketAddress, UpstreamTls } from '../config/types.js';
import { HandoffError, systemCode } from '../lib/errors.js';

const contexts = new WeakMap<UpstreamTls, tls.SecureContext>();
const identities = new WeakMap<UpstreamTls, string>();
const socketIdentity = new WeakMap<net.Socket, string>();
/** Last session per server and settings (bounded: oldest dropped first). */
const sessions = new Map<string, Buffer>();
const MAX_SESSIONS = 1024;

/** What makes two TLS settings interchangeable for a pooled connection. */
export function tlsIdentity(t: UpstreamTls | undefined): string {
  if (!t) return '';
  let id = identities.get(t);
  if (id === undefined) {
    const ca = t.ca ? createHash('sha256').update(t.ca.pem).digest('hex').slice(0, 16) : '';
    id = `tls verify=${t.verify} sni=${t.sni ?? ''} ca=${ca}`;
    identities.set(t, id);
  }
  return id;
}

/** Whether a pooled connection fits the server's settings now (a live apply may have changed them). */
export function sameTransport(socket: net.Socket, server: Server): boolean {
  return (socketIdentity.get(socket) ?? '') === tlsIdentity(server.tls);
}

/** Options for tls.connect that never reject by themselves: verifyPeer judges after the handshake. */
export function upstreamTlsOptions(address: SocketAddress, t: UpstreamTls): tls.ConnectionOptions {
  let secureContext = contexts.get(t);
  if (!secureContext) {
    // A server's renegotiation is refused: the certificate is verified once, after the first
    // handshake, and a renegotiation could bring one nothing checks (and costs a key exchange).
    secureContext = tls.createSecureContext({ secureOptions: constants.SSL_OP_NO_RENEGOTIATION, ...(t.ca ? { ca: t.ca.pem } : {}) });
    contexts.set(t, secureContext);
  }
  const session = sessions.get(sessionKey(address, t));
  return {
    secureContext,
    ...(t.sni ? { servername: t.sni } : {}),
    rejectUnauthorized: false,
    // Node checks the name against `host`, which is "localhost" over an existing socket:
    // the name that counts is sni, else the server's IP address (an IP SAN).
    checkServerIdentity: (_host, cert) => tls.checkServerIdentity(t.sni ?? address.host, cert),
    ALPNProtocols: ['http/1.1'],
    ...(session ? { session } : {}),
  };
}

/** Why the server's certificate is refused, or undefined when it is accepted (or verify is off). */
export function verifyPeer(socket: tls.TLSSocket, t: UpstreamTls): string | undefined {
  if (!t.verify || socket.authorized) return undefined;
  const err = socket.authorizationError as unknown;
  return err instanceof Error ? (systemCode(err) ?? err.message) : String(err ?? 'certificate not trusted');
}

/**
 * Remember the session a server sends, for the next connection to it; only once the
 * certificate was accepted (call the returned function then), so an unverified server never
 * seeds a resumption.
 */
export function keepSessions(socket: tls.TLSSocket, address: SocketAddress, t: UpstreamTls): () => void {
  const key = sessionKey(address, t);
  let accepted = false;
  let pending: Buffer | undefined;
  const store = (session: Buffer) => {
    sessions.delete(key);
    if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
    sessions.set(key, session);
  };
  socket.on('session', (session: Buffer) => {
    if (accepted) store(session);
    else pending = session;
  });
  return () => {
    accepted = true;
    if (pending) store(pending);
    pending = undefined;
  };
}

function sessionKey(address: SocketAddress, t: UpstreamTls): string {
  return `${address.key} ${tlsIdentity(t)}`;
}

/** TLS over a connected socket, within `timeoutMs`; the socket is destroyed on any failure. */
export function startUpstreamTls(socket: net.Socket, address: SocketAddress, t: UpstreamTls, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ socket, ...upstreamTlsOptions(address, t) });
    const sessionAccepted = keepSessions(secure, address, t);
    const fail = (code: 'HANDOFF_ERR_TLS_VERIFY' | 'HANDOFF_ERR_TLS_HANDSHAKE', detail: string, cause?: unknown) => {
      clearTimeout(timer);
      secure.destroy();
      socket.destroy();
      const what = code === 'HANDOFF_ERR_TLS_VERIFY' ? 'certificate refused' : 'handshake failed';
      reject(new HandoffError(code, 'server', `TLS to ${address.key}: ${what}: ${detail}`, { retryable: true, cause }));
    };
    const timer = setTimeout(() => fail('HANDOFF_ERR_TLS_HANDSHAKE', `timeout after ${timeoutMs}ms`), Math.max(1, timeoutMs));
    const onError = (err: Error) => fail('HANDOFF_ERR_TLS_HANDSHAKE', systemCode(err) ?? err.message, err);
    secure.once('error', onError);
    secure.once('secureConnect', () => {
      const refused = verifyPeer(secure, t);
      if (refused !== undefined) return fail('HANDOFF_ERR_TLS_VERIFY', refused);
      clearTimeout(timer);
      secure.off('error', onError);
      socketIdentity.set(secure, tlsIdentity(t));
      sessionAccepted();
      resolve(secure);
    });
  });
}

/** The access-log cause of a failed server connection: tls-verify-failed, tls-handshake-failed, or connect-failed. */
export function connectFailureCause(err: unknown): 'tls-verify-failed' | 'tls-handshake-failed' | 'connect-failed' {
  const code = err instanceof HandoffError ? err.code : undefined;
  if (code === 'HANDOFF_ERR_TLS_VERIFY') return 'tls-verify-failed';
  if (code === 'HANDOFF_ERR_TLS_HANDSHAKE') return 'tls-handshake-failed';
  return 'connect-failed';
}

/** A TLS socket cannot be handed to another process (its keys live here): such tunnels stay and drain. */
export function isTlsSocket(socket: net.Socket): boolean {
  return socket instanceof tls.TLSSocket;
}
