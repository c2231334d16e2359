// One health check against one server, over a real socket:
//   tcp:  connect within the connect timeout
//   http: connect, send
//           METHOD PATH HTTP/1.1\r\nHost: HOST\r\nConnection: close\r\nUser-Agent: handoff-check\r\n\r\n
//         read the status line; healthy when the status is within `expect`.
//
//   const r = await probe(server.address, backend.health, { connectTimeout: 5000 });
//   r.ok; r.detail   // "status 200", "connect ECONNREFUSED", "timeout after 1000ms", "status 503", "bad status line"
//
// Always settles: the whole check is bounded by check.timeout (the connect phase also by
// connectTimeout), and an AbortSignal ends it at once. The socket is always destroyed.
import net from 'node:net';
import tls from 'node:tls';
import type { HealthCheck, SocketAddress, UpstreamTls } from '../config/types.js';
import { systemCode } from '../lib/errors.js';
import { keepSessions, upstreamTlsOptions, verifyPeer } from '../tls/backend-tls.js';

export interface ProbeResult {
  readonly ok: boolean;
  /** What happened, for the state-change cause: "status 200", "connect ECONNREFUSED", ... */
  readonly detail: string;
}

export interface ProbeOptions {
  /** Cap for the connect phase (timeouts.connect). */
  readonly connectTimeout: number;
  readonly signal?: AbortSignal;
  /** The server's TLS settings: the check is made over TLS and passes only with an accepted certificate. */
  readonly tls?: UpstreamTls;
}

/** A status line longer than this is not one. */
const MAX_STATUS_LINE = 1024;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |$)/;

export function probe(address: SocketAddress, check: HealthCheck, options: ProbeOptions): Promise<ProbeResult> {
  const total = check.timeout > 0 ? check.timeout : check.interval;
  const connectLimit = Math.min(total, options.connectTimeout > 0 ? options.connectTimeout : total);
  return new Promise<ProbeResult>((resolve) => {
    if (options.signal?.aborted) {
      resolve({ ok: false, detail: 'aborted' });
      return;
    }
    const started = Date.now();
    let connected = false;
    let settled = false;
    let received = '';
    // TLS to the server: "connected" means the handshake completed and the certificate was accepted.
    const t = options.tls;
    const socket = t
      ? tls.connect({ host: address.host, port: address.port, ...upstreamTlsOptions(address, t) })
      : net.connect({ host: address.host, port: address.port });
    const sessionAccepted = t ? keepSessions(socket as tls.TLSSocket, address, t) : undefined;
    socket.setNoDelay(true);

    const done = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({ ok, detail });
    };
    const onAbort = () => done(false, 'aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });

    let timer = setTimeout(() => done(false, `connect timeout after ${connectLimit}ms`), connectLimit);

    socket.once(t ? 'secureConnect' : 'connect', () => {
      if (t) {
        const refused = verifyPeer(socket as tls.TLSSocket, t);
        if (refused !== undefined) return done(false, `tls certificate refused: ${refused}`);
        sessionAccepted?.();
      }
      connected = true;
      if (check.type === 'tcp') {
        done(true, 'connected');
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(() => done(false, `timeout after ${total}ms`), Math.max(0, total - (Date.now() - started)));
      const host = check.host ?? address.key;
      socket.write(`${check.method} ${check.path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nUser-Agent: handoff-check\r\n\r\n`);
    });

    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const eol = received.indexOf('\n');
      if (eol < 0) {
        if (received.length > MAX_STATUS_LINE) done(false, 'bad status line');
        return;
      }
      done(...judge(received.slice(0, eol).replace(/\r$/, ''), check));
    });
    socket.on('end', () => {
      if (received.length > 0) done(...judge(received, check));
      else done(false, 'closed before status line');
    });
    socket.on('error', (err) => {
      const code = systemCode(err) ?? err.message;
      done(false, connected ? `read ${code}` : `${t ? 'tls ' : ''}connect ${code}`);
    });
    socket.on('close', () => done(false, connected ? 'closed before status line' : 'connect closed'));
  });
}

function judge(line: string, check: HealthCheck): [boolean, string] {
  const m = STATUS_LINE.exec(line);
  if (!m) return [false, 'bad status line'];
  const status = Number(m[1]);
  return [status >= check.expect.min && status <= check.expect.max, `status ${status}`];
}
