// `handoff echo`: the demo and test backend. Every test in the project starts it as a real
// process, so its behaviour is a contract (kept in step with docs/echo.md):
//
//   handoff echo --port N [--host 127.0.0.1] [--name X] [--tcp]
//     port 0 = ephemeral; name defaults to echo-PORT (the bound port).
//   Once listening it prints exactly one stdout line:
//     handoff echo NAME listening on HOST:PORT      (the bound address; IPv6 as [::1]:PORT)
//
// HTTP mode (default). Every response carries `X-Server: NAME`. Keep-alive with a 65 s idle
// timeout (longer than a proxy's pool keeps idle connections); `Connection: close` honoured.
//   GET /healthz               200 "ok\n" text/plain; ?status=N answers N instead.
//   POST /admin/health?status=N  /healthz answers N from now on (status=200 restores).
//   /echo (any method)         streams the request body back (chunked), with back-pressure.
//   anything else              reads the whole body (counted and hashed, never stored), then
//     200 application/json {"server","method","url","httpVersion","headers" (lower-case),
//     "rawHeaders","bodyBytes","bodySha256" (hex), "remoteAddress","remotePort",
//     "connection" (server-wide number of this TCP connection, from 1),
//     "requestOnConnection" (1 for the first request on it)}.
//     Query parameters (a bad value gets 400 text/plain naming it):
//       delay=MS    wait MS (0-120000) after reading the body, before answering.
//       status=N    answer N (200-599); 204 and 304 have no body.
//       bytes=N     body of N bytes of "0123456789abcdef" repeated instead of JSON
//                   (application/octet-stream), streamed with back-pressure.
//       chunked=1   chunked encoding instead of Content-Length (bytes and JSON).
//       close=1     `Connection: close`, then the connection is closed.
//       reset=1     head announcing ?bytes (default 1 MiB, at least 2) bytes, the first
//                   min(16, N-1) pattern bytes, then a TCP RST.
//       reset=before  a TCP RST instead of any response.
//   Upgrade: websocket on any path: accepted (101 carries X-Server); every message is
//     echoed unchanged, text as text and binary as binary; nothing else is sent.
//
// TCP mode (--tcp): every byte echoed; when the client ends its side, the server ends its
// own after writing back everything it read (half-close).
//
// Stop (close(), SIGTERM/SIGINT in the CLI): stop accepting, close idle keep-alive
// connections, `Connection: close` on in-flight responses, close WebSockets with 1001;
// whatever is still open after the grace period (1 s) is destroyed. A bind error
// (EADDRINUSE, ...) rejects with HANDOFF_ERR_BIND (the CLI prints it and exits 1).
import http from 'node:http';
import net from 'node:net';
import { HandoffError, systemCode } from '../lib/errors.js';
import { createLogger } from '../observe/logger.js';
import { ConnectionSet } from './connection-set.js';
import { createHttpEcho } from './http-echo.js';
import { echoTcp } from './tcp-echo.js';
import type { EchoOptions, EchoServer } from './types.js';
import { createWebSocketEcho } from './websocket-echo.js';

export const DEFAULT_GRACE_MS = 1000;
// Longer than the idle time of a proxy's pooled connection, so the backend is never the
// side that closes one under a request the proxy is about to send.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
// Destroyed sockets close within a tick; this only bounds the wait.
const DESTROY_WAIT_MS = 500;

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      const code = systemCode(err);
      reject(
        new HandoffError('HANDOFF_ERR_BIND', 'config', `cannot listen on ${formatAddress(host, port)}: ${code ?? err.message}`, {
          cause: err,
        }),
      );
    };
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export async function startEchoServer(options: EchoOptions): Promise<EchoServer> {
  const mode = options.mode ?? 'http';
  const host = options.host ?? '127.0.0.1';
  // Known only once bound when the port is ephemeral; nothing is served before that.
  let name = options.name ?? '';
  const serverName = () => name;
  const connections = new ConnectionSet();
  let stopping = false;
  let server: net.Server;
  let onStop = () => {};

  if (mode === 'tcp') {
    server = net.createServer({ allowHalfOpen: true }, echoTcp);
  } else {
    const httpServer = http.createServer();
    httpServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    httpServer.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
    // Large uploads and ?delay must not hit Node's 5-minute whole-request limit.
    httpServer.requestTimeout = 0;
    const handle = createHttpEcho(serverName);
    const inFlight = new Set<http.ServerResponse>();
    httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (stopping) res.setHeader('connection', 'close');
      inFlight.add(res);
      res.once('close', () => inFlight.delete(res));
      // A keep-alive connection that finishes its response while stopping is idle now.
      res.once('finish', () => {
        if (stopping) setImmediate(() => httpServer.closeIdleConnections());
      });
      handle(req, res);
    });
    const websockets = createWebSocketEcho(serverName);
    httpServer.on('upgrade', websockets.upgrade);
    onStop = () => {
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      httpServer.closeIdleConnections();
      websockets.closeAll();
    };
    server = httpServer;
  }
  server.on('connection', (socket: net.Socket) => connections.add(socket));

  await listen(server, options.port, host);
  const bound = server.address() as net.AddressInfo;
  if (name === '') name = `echo-${bound.port}`;
  const log = createLogger('echo', { name });
  server.on('error', (err) => log.error('server error', { error: err.message }));

  let closing: Promise<void> | undefined;
  return {
    name,
    mode,
    host: bound.address,
    port: bound.port,
    address: formatAddress(bound.address, bound.port),
    close(graceMs = DEFAULT_GRACE_MS) {
      closing ??= (async () => {
        stopping = true;
        server.close(() => {});
        onStop();
        if (await connections.whenEmpty(graceMs)) return;
        log.info('destroying connections left at the stop deadline', { connections: connections.size });
        connections.destroyAll();
        await connections.whenEmpty(DESTROY_WAIT_MS);
      })();
      return closing;
    },
  };
}
