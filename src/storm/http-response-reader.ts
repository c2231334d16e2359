// A small incremental HTTP/1.x response reader for storm's raw-socket clients. storm checks
// proxies, so it keeps its own parser (independent of the one handoff proxies with) and
// reports exactly what arrived: a complete response, or how far it got. Bodies: length,
// chunked, or until EOF.
const MAX_HEAD = 64 * 1024;
const MAX_BODY = 8 * 1024 * 1024;

import { HandoffError } from '../lib/errors.js';
export interface HttpResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** The connection may carry another request. */
  readonly keepAlive: boolean;
}

/** A response the storm's client cannot parse (from the proxy under test). */
export class BadResponse extends HandoffError {
  constructor(message: string) {
    super('HANDOFF_ERR_BAD_RESPONSE', 'server', message);
    this.name = 'BadResponse';
  }
}

type State =
  | { readonly kind: 'head' }
  | { readonly kind: 'length'; remaining: number }
  | { readonly kind: 'chunk-size' }
  | { readonly kind: 'chunk-data'; remaining: number }
  | { readonly kind: 'chunk-end' }
  | { readonly kind: 'trailers' }
  | { readonly kind: 'until-eof' };

export class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  private state: State = { kind: 'head' };
  private head: { status: number; headers: Map<string, string>; keepAlive: boolean } | undefined;
  private readonly body: Buffer[] = [];
  private bodyBytes = 0;
  /** Any byte of a response arrived. */
  received = 0;

  /** Feed bytes; returns the response once complete (bytes after it stay in leftover()). Throws BadResponse. */
  feed(chunk: Buffer): HttpResponse | undefined {
    this.received += chunk.length;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (let step = 0; step < 100_000; step++) {
      const done = this.step();
      if (done === 'more') return undefined;
      if (done !== 'continue') return done;
    }
    throw new BadResponse('response parsing did not converge');
  }

  /** The peer closed: the response if its body ran until EOF, else undefined (incomplete). */
  end(): HttpResponse | undefined {
    if (this.state.kind === 'until-eof' && this.head) return this.finish(false);
    return undefined;
  }

  /** Bytes after the complete response (a WebSocket's first frames after its 101). */
  leftover(): Buffer {
    return this.buf;
  }

  private step(): HttpResponse | 'more' | 'continue' {
    const s = this.state;
    switch (s.kind) {
      case 'head': {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.buf.length > MAX_HEAD) throw new BadResponse('response head too large');
          return 'more';
        }
        const text = this.buf.subarray(0, end).toString('latin1');
        this.buf = this.buf.subarray(end + 4);
        const head = parseHead(text);
        if (head.status >= 100 && head.status < 200 && head.status !== 101) return 'continue'; // 100 Continue and the like
        this.head = head;
        if (head.status === 101 || head.status === 204 || head.status === 304) return this.finish(head.keepAlive);
        const te = head.headers.get('transfer-encoding');
        if (te !== undefined) {
          if (!/(^|,)\s*chunked\s*$/i.test(te)) throw new BadResponse(`unsupported transfer-encoding ${te}`);
          this.state = { kind: 'chunk-size' };
          return 'continue';
        }
        const cl = head.headers.get('content-length');
        if (cl !== undefined) {
          if (!/^\d+$/.test(cl.trim())) throw new BadResponse(`bad content-length ${cl}`);
          this.state = { kind: 'length', remaining: Number(cl.trim()) };
          return 'continue';
        }
        this.head.keepAlive = false;
        this.state = { kind: 'until-eof' };
        return 'continue';
      }
      case 'length': {
        if (s.remaining === 0) return this.finish(this.head!.keepAlive);
        if (this.buf.length === 0) return 'more';
        const take = Math.min(s.remaining, this.buf.length);
        this.addBody(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        s.remaining -= take;
        return 'continue';
      }
      case 'chunk-size': {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) {
          if (this.buf.length > 1024) throw new BadResponse('chunk size line too long');
          return 'more';
        }
        const line = this.buf.subarray(0, eol).toString('latin1').split(';')[0]!.trim();
        if (!/^[0-9a-fA-F]{1,8}$/.test(line)) throw new BadResponse(`bad chunk size ${JSON.stringify(line)}`);
        this.buf = this.buf.subarray(eol + 2);
        const size = Number.parseInt(line, 16);
        this.state = size === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', remaining: size };
        return 'continue';
      }
      case 'chunk-data': {
        if (this.buf.length === 0) return 'more';
        const take = Math.min(s.remaining, this.buf.length);
        this.addBody(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        s.remaining -= take;
        if (s.remaining === 0) this.state = { kind: 'chunk-end' };
        return 'continue';
      }
      case 'chunk-end': {
        if (this.buf.length < 2) return 'more';
        if (this.buf[0] !== 0x0d || this.buf[1] !== 0x0a) throw new BadResponse('chunk not followed by CRLF');
        this.buf = this.buf.subarray(2);
        this.state = { kind: 'chunk-size' };
        return 'continue';
      }
      case 'trailers': {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) return 'more';
        this.buf = this.buf.subarray(eol + 2);
        return eol === 0 ? this.finish(this.head!.keepAlive) : 'continue';
      }
      case 'until-eof': {
        if (this.buf.length > 0) {
          this.addBody(this.buf);
          this.buf = Buffer.alloc(0);
        }
        return 'more';
      }
    }
  }

  private addBody(b: Buffer): void {
    this.bodyBytes += b.length;
    if (this.bodyBytes > MAX_BODY) throw new BadResponse('response body too large');
    this.body.push(Buffer.from(b));
  }

  private finish(keepAlive: boolean): HttpResponse {
    const head = this.head!;
    const res: HttpResponse = { status: head.status, headers: head.headers, body: Buffer.concat(this.body), keepAlive };
    this.state = { kind: 'head' };
    this.head = undefined;
    this.body.length = 0;
    this.bodyBytes = 0;
    return res;
  }
}

function parseHead(text: string): { status: number; headers: Map<string, string>; keepAlive: boolean } {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) throw new BadResponse(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new BadResponse(`bad header line ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  const connection = (headers.get('connection') ?? '').toLowerCase();
  const keepAlive = m[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
  return { status: Number(m[2]), headers, keepAlive };
}

/** Which storm backend answered: the X-Server header, else the JSON echo's "server" field. */
export function answeringBackend(res: HttpResponse): string | undefined {
  const header = res.headers.get('x-server');
  if (header) return header;
  if (!(res.headers.get('content-type') ?? '').includes('json')) return undefined;
  try {
    const doc = JSON.parse(res.body.toString('utf8')) as { server?: unknown };
    return typeof doc.server === 'string' ? doc.server : undefined;
  } catch {
    return undefined;
  }
}
