// Errors that say this process (or host) is out of a resource, not that a server is bad:
// out of file descriptors, socket buffers or local ports. A connect that fails with one of
// them must not count against the server's health (passive health would take healthy
// servers down and turn a local shortage into 503s for everyone); the request gets a 503
// and the cause is logged, at most once per LOG_INTERVAL_MS per cause, so that a shortage
// does not also flood the log.
import { systemCode } from '../lib/errors.js';
import type { Fields, Logger } from '../observe/logger.js';

const LOCAL_CODES = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL']);
const LOG_INTERVAL_MS = 10_000;

const WHAT: Record<string, string> = {
  EMFILE: 'this process is out of file descriptors (ulimit -n)',
  ENFILE: 'the host is out of file descriptors (fs.file-max)',
  ENOBUFS: 'the kernel is out of socket buffer space',
  ENOMEM: 'the kernel is out of memory for sockets',
  EADDRNOTAVAIL: 'no local port is free for a new connection (net.ipv4.ip_local_port_range, TIME_WAIT)',
};

/** The errno code when `err` (or its cause) is a local resource shortage, else undefined. */
export function localResourceCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const code = systemCode(e);
    if (code !== undefined && LOCAL_CODES.has(code)) return code;
    if (typeof e !== 'object' || e === null) break;
  }
  return undefined;
}

const lastLogged = new Map<string, number>();
const suppressed = new Map<string, number>();

/** Log a local shortage (warn), at most once per LOG_INTERVAL_MS per code and place. */
export function reportLocalShortage(log: Logger, code: string, where: string, fields: Fields = {}): void {
  const key = `${where}:${code}`;
  const now = Date.now();
  const last = lastLogged.get(key);
  if (last !== undefined && now - last < LOG_INTERVAL_MS) {
    suppressed.set(key, (suppressed.get(key) ?? 0) + 1);
    return;
  }
  lastLogged.set(key, now);
  const more = suppressed.get(key) ?? 0;
  suppressed.delete(key);
  log.warn(`${where} failed: ${WHAT[code] ?? code}; server health is not affected`, {
    code,
    ...fields,
    ...(more > 0 ? { repeated: more } : {}),
  });
}
