// Real TLS servers on loopback for tests: a TLS echo that names itself in every answer
// ("a:ping"), and an HTTPS server answering "server NAME" (optionally a status).
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import type { Leaf } from './tls-pki.js';

export interface TlsServer {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  /** Secure connections accepted so far. */
  readonly accepted: () => number;
  close(): Promise<void>;
}

function track(name: string, server: net.Server, count: () => number): Promise<TlsServer> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        name,
        port,
        address: `127.0.0.1:${port}`,
        accepted: count,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

/** Echoes every chunk back as `${name}:${chunk}`. */
export function startTlsEcho(name: string, leaf: Leaf): Promise<TlsServer> {
  let n = 0;
  const server = tls.createServer({ cert: leaf.cert, key: leaf.key }, (s) => {
    n++;
    s.on('data', (c: Buffer) => s.write(`${name}:${c.toString('latin1')}`));
    s.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  return track(name, server, () => n);
}

/** Answers every request with 200 "server NAME" (keep-alive). */
export function startHttps(name: string, leaf: Leaf): Promise<TlsServer> {
  let n = 0;
  const server = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    req.resume();
    res.setHeader('content-type', 'text/plain');
    res.end(`server ${name}`);
  });
  server.on('secureConnection', () => n++);
  server.on('tlsClientError', () => {});
  return track(name, server, () => n);
}
