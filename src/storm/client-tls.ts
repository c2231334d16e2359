// storm's HTTP clients over TLS (--tls): the handshake after the TCP connect, within the same
// per-request timeout. A failed or refused handshake is the request's failure, kind
// `tls-handshake` (counted like any client failure): a proxy that presents no certificate, a
// wrong one, or drops the connection during a reload's certificate change is seen.
//
// SNI: --sni NAME for every connection, else the Host the connection is opened for (no SNI
// when that is an IP address). Verification: against --ca (or the system roots) and that
// name, unless --insecure.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { systemCode } from '../lib/errors.js';
import { failure } from './failure.js';
import type { Failure, StormTls } from './types.js';

export interface ClientTls {
  readonly secureContext: tls.SecureContext;
  readonly sni?: string;
  readonly insecure: boolean;
}

/** The TLS settings of the clients, with the CA file read now (an unreadable one throws, with the file). */
export function loadClientTls(o: StormTls): ClientTls {
  let ca: string | undefined;
  if (o.caFile !== undefined) {
    try {
      ca = readFileSync(o.caFile, 'latin1');
    } catch (err) {
      throw new Error(`--ca ${o.caFile}: ${(err as Error).message}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`--ca ${o.caFile}: no PEM certificate in it`);
  }
  return {
    secureContext: tls.createSecureContext(ca === undefined ? {} : { ca }),
    ...(o.sni === undefined ? {} : { sni: o.sni }),
    insecure: o.insecure,
  };
}

/** The name sent and checked for a connection opened for `host` (a Host header value). */
export function serverNameFor(t: ClientTls, host: string): string | undefined {
  if (t.sni !== undefined) return t.sni;
  const name = host.startsWith('[') ? '' : host.replace(/:\d+$/, '');
  return name === '' || net.isIP(name) !== 0 ? undefined : name;
}

/** TLS over a connected socket, within timeoutMs; the socket is destroyed on failure. */
export function secureClient(
  socket: net.Socket,
  t: ClientTls,
  host: string,
  timeoutMs: number,
): Promise<{ ok: true; socket: tls.TLSSocket } | { ok: false; failure: Failure }> {
  return new Promise((resolve) => {
    const servername = serverNameFor(t, host);
    const secure = tls.connect({
      socket,
      secureContext: t.secureContext,
      ...(servername ? { servername } : {}),
      rejectUnauthorized: false,
      checkServerIdentity: (_h, cert) => tls.checkServerIdentity(servername ?? socket.remoteAddress ?? '', cert),
      ALPNProtocols: ['http/1.1'],
    });
    const done = (r: { ok: true; socket: tls.TLSSocket } | { ok: false; failure: Failure }) => {
      clearTimeout(timer);
      secure.off('error', onError);
      if (!r.ok) {
        secure.destroy();
        socket.destroy();
      }
      resolve(r);
    };
    const timer = setTimeout(
      () => done({ ok: false, failure: failure('tls-handshake', `no TLS handshake within ${timeoutMs} ms`) }),
      Math.max(1, timeoutMs),
    );
    const onError = (err: Error) => {
      const code = systemCode(err);
      done({ ok: false, failure: failure('tls-handshake', `TLS handshake failed: ${err.message}`, code ? { code } : {}) });
    };
    secure.once('error', onError);
    secure.once('secureConnect', () => {
      if (!t.insecure && !secure.authorized) {
        const why = secure.authorizationError as unknown;
        const text = why instanceof Error ? why.message : String(why);
        const code = why instanceof Error ? systemCode(why) : text;
        return done({ ok: false, failure: failure('tls-handshake', `certificate refused: ${text}`, code ? { code } : {}) });
      }
      done({ ok: true, socket: secure });
    });
  });
}
