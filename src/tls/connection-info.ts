// What a request's header rules and X-Forwarded-Proto know about its connection's TLS: the
// server name the client asked for (SNI), the protocol version, the client certificate's
// subject. Read once per connection, on first use, from the public TLSSocket API; all
// empty on a plain connection.
import type net from 'node:net';
import tls from 'node:tls';
import { oneLineName } from './certificate.js';

export interface TlsInfo {
  readonly sni: string;
  readonly version: string;
  readonly clientSubject: string;
}

export const PLAIN: TlsInfo = { sni: '', version: '', clientSubject: '' };

export function isTls(socket: net.Socket): socket is tls.TLSSocket {
  return socket instanceof tls.TLSSocket;
}

const cache = new WeakMap<tls.TLSSocket, TlsInfo>();

export function tlsInfo(socket: net.Socket): TlsInfo {
  if (!isTls(socket)) return PLAIN;
  let info = cache.get(socket);
  if (info) return info;
  let clientSubject = '';
  // authorized: set by tls-accept.ts once the client's chain verified against client_ca.
  if (socket.authorized) {
    try {
      clientSubject = oneLineName(socket.getPeerX509Certificate()?.subject);
    } catch {
      clientSubject = '';
    }
  }
  const servername = (socket as unknown as { servername?: string | false }).servername;
  info = { sni: typeof servername === 'string' ? servername : '', version: socket.getProtocol() ?? '', clientSubject };
  cache.set(socket, info);
  return info;
}
