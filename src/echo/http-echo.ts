// The HTTP side of `handoff echo`: health endpoint, its admin toggle, the JSON echo with
// its query knobs, and /echo streaming. The full contract is in echo-server.ts.
import { createHash } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { parseEchoQuery, parseStatus, parseTarget, type EchoQuery } from './echo-query.js';
import { patternBytes, writePattern } from './pattern-body.js';

// ?reset=1 announces this many bytes unless ?bytes says otherwise.
const RESET_DEFAULT_BYTES = 1 << 20;
// ...and sends at most this many of them before the reset.
const RESET_SENT_BYTES = 16;

interface BodySummary {
  readonly bytes: number;
  readonly sha256: string;
}

/** Per-connection numbers in the JSON echo, so tests can see pooling and migration. */
interface ConnectionInfo {
  readonly id: number;
  requests: number;
}

function hasNoBody(status: number): boolean {
  return status === 204 || status === 304;
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Read the whole request body, hashing and counting it but never keeping it. */
function readBody(req: IncomingMessage, done: (body: BodySummary) => void): void {
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => done({ bytes, sha256: hash.digest('hex') }));
  // The client went away mid-body: there is nobody to answer.
  req.on('error', () => {});
}

/** Run fn after ms, unless the connection closes first. */
function after(res: ServerResponse, ms: number, fn: () => void): void {
  if (ms === 0) {
    fn();
    return;
  }
  const timer = setTimeout(fn, ms);
  res.once('close', () => clearTimeout(timer));
}

function sendBody(res: ServerResponse, status: number, contentType: string, body: string, chunked: boolean): void {
  if (hasNoBody(status)) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(
    status,
    chunked ? { 'content-type': contentType } : { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
  );
  // No content-length in the head makes Node use chunked encoding.
  res.end(body);
}

function sendPattern(req: IncomingMessage, res: ServerResponse, status: number, total: number, chunked: boolean): void {
  if (hasNoBody(status)) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(
    status,
    chunked ? { 'content-type': 'application/octet-stream' } : { 'content-type': 'application/octet-stream', 'content-length': total },
  );
  if (req.method === 'HEAD' || total === 0) {
    res.end();
    return;
  }
  void writePattern(res, total).then((complete) => {
    if (complete) res.end();
  });
}

/** Head and the start of a body, then an RST: a server dying mid-response. */
function resetMidResponse(res: ServerResponse, socket: Socket, status: number, query: EchoQuery): void {
  const announced = Math.max(query.bytes ?? RESET_DEFAULT_BYTES, 2);
  res.writeHead(
    status,
    query.chunked
      ? { 'content-type': 'application/octet-stream' }
      : { 'content-type': 'application/octet-stream', 'content-length': announced },
  );
  // The callback runs once the bytes are in the kernel, so the reset cannot overtake them.
  res.write(patternBytes(Math.min(RESET_SENT_BYTES, announced - 1)), () => {
    if (!socket.destroyed) socket.resetAndDestroy();
  });
}

export function createHttpEcho(serverName: () => string): RequestListener {
  let healthStatus = 200;
  let nextConnectionId = 1;
  const connections = new WeakMap<Socket, ConnectionInfo>();

  function connectionOf(socket: Socket): ConnectionInfo {
    let info = connections.get(socket);
    if (!info) {
      info = { id: nextConnectionId++, requests: 0 };
      connections.set(socket, info);
    }
    return info;
  }

  function echoJson(req: IncomingMessage, body: BodySummary, conn: ConnectionInfo): string {
    return JSON.stringify({
      server: serverName(),
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyBytes: body.bytes,
      bodySha256: body.sha256,
      remoteAddress: req.socket.remoteAddress,
      remotePort: req.socket.remotePort,
      connection: conn.id,
      requestOnConnection: conn.requests,
    });
  }

  function answer(req: IncomingMessage, res: ServerResponse, query: EchoQuery, body: BodySummary, conn: ConnectionInfo): void {
    const socket = req.socket;
    if (query.reset === 'before-response') {
      if (!socket.destroyed) socket.resetAndDestroy();
      return;
    }
    if (query.close) res.setHeader('connection', 'close');
    const status = query.status ?? 200;
    if (query.reset === 'mid-response') resetMidResponse(res, socket, status, query);
    else if (query.bytes !== undefined) sendPattern(req, res, status, query.bytes, query.chunked);
    else sendBody(res, status, 'application/json', echoJson(req, body, conn), query.chunked);
  }

  return (req, res) => {
    res.setHeader('x-server', serverName());
    const conn = connectionOf(req.socket);
    conn.requests += 1;
    const { pathname, params } = parseTarget(req.url ?? '/');

    if (pathname === '/echo') {
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
      res.flushHeaders();
      // pipeline: pauses the upload while the download is full; an abort tears down both.
      pipeline(req, res, () => {});
      return;
    }

    if (pathname === '/healthz') {
      const asked = parseStatus(params);
      readBody(req, () => {
        if (!asked.ok) return sendText(res, 400, `${asked.error}\n`);
        const status = asked.value ?? healthStatus;
        if (hasNoBody(status)) return sendBody(res, status, 'text/plain', '', false);
        sendText(res, status, status < 300 ? 'ok\n' : `unhealthy (${status})\n`);
      });
      return;
    }

    if (pathname === '/admin/health' && req.method === 'POST') {
      const asked = parseStatus(params);
      readBody(req, () => {
        if (!asked.ok || asked.value === undefined) return sendText(res, 400, `${asked.ok ? 'status is required' : asked.error}\n`);
        healthStatus = asked.value;
        sendText(res, 200, `healthz now answers ${healthStatus}\n`);
      });
      return;
    }

    const query = parseEchoQuery(params);
    readBody(req, (body) => {
      if (!query.ok) return sendText(res, 400, `${query.error}\n`);
      after(res, query.value.delayMs, () => answer(req, res, query.value, body, conn));
    });
  };
}
