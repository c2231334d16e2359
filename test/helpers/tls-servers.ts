// Real TLS servers on loopback for tests: a TLS echo that names itself in every answer
// ("a:ping"), and one port speaking HTTP and HTTPS answering "server NAME tls=yes|no".
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import netModule from 'node:net';
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

export interface DualServer extends TlsServer {
  /** Health-check requests seen, by transport. */
  readonly checks: { tls: number; plain: number };
  /** Server names (SNI) sent by TLS clients, in order. */
  readonly serverNames: (string | false)[];
}

/**
 * One port that speaks HTTP and HTTPS: a first byte 0x16 (TLS handshake) goes to the HTTPS
 * side. Answers `server NAME tls=yes|no` so a test sees which transport a request used.
 */
export function startDual(name: string, leaf: Leaf): Promise<DualServer> {
  const checks = { tls: 0, plain: 0 };
  const serverNames: (string | false)[] = [];
  let n = 0;
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const secure = 'encrypted' in req.socket && Boolean((req.socket as tls.TLSSocket).encrypted);
    if (req.headers['user-agent'] === 'handoff-check') checks[secure ? 'tls' : 'plain']++;
    req.resume();
    res.setHeader('content-type', 'text/plain');
    res.end(`server ${name} tls=${secure ? 'yes' : 'no'}`);
  };
  const plain = http.createServer(handler);
  const secure = https.createServer({ cert: leaf.cert, key: leaf.key }, handler);
  secure.on('secureConnection', (s: tls.TLSSocket) => {
    n++;
    serverNames.push(s.servername ?? false);
  });
  secure.on('tlsClientError', () => {});
  // A TLS server takes over a socket's native handle (bytes already read in JS would be
  // lost), so the front relays each connection to the side its first byte asks for.
  const listen = (srv: net.Server) =>
    new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as net.AddressInfo).port)));
  const ports = Promise.all([listen(plain), listen(secure)]);
  const front = netModule.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', async (first: Buffer) => {
      socket.pause();
      const [plainPort, securePort] = await ports;
      const up = netModule.connect({ host: '127.0.0.1', port: first[0] === 0x16 ? securePort : plainPort });
      up.on('error', () => socket.destroy());
      up.write(first);
      socket.pipe(up);
      up.pipe(socket);
      socket.on('close', () => up.destroy());
      up.on('close', () => socket.destroy());
      socket.resume();
    });
  });
  front.on('close', () => {
    plain.closeAllConnections();
    plain.close();
    secure.closeAllConnections();
    secure.close();
  });
  return track(name, front, () => n).then((s) => Object.assign(s, { checks, serverNames }));
}
