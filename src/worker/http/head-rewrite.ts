// The heads handoff sends on: the request head rebuilt for the server and the response
// head rebuilt for the client. Hop-by-hop headers go (RFC 9110 §7.6.1), X-Forwarded-*
// and header rules come in, Content-Length is sent once. Pure functions of the parsed head
// and the exchange's rules: nothing here touches a socket.
import type { CompiledRules, RuleVars } from '../header-rules.js';
import type { RequestHead } from './request-head.js';
import type { ResponseHead } from './response-head.js';

/** Where header rules get `${...}` values from; asked only when a rule renders (no object per request otherwise). */
export interface RuleVarsSource {
  vars(): RuleVars;
}

/** The request head for the server. */
export function buildRequestHead(
  req: RequestHead,
  rules: CompiledRules,
  clientAddress: string,
  secure: boolean,
  source: RuleVarsSource,
): string {
  const drop = rules.request.drop;
  const tokens = req.connectionTokens;
  let head = `${req.method} ${req.path}${req.versionMinor === 1 ? ' HTTP/1.1\r\n' : ' HTTP/1.0\r\n'}`;
  let xff: string | undefined;
  let sawHost = false;
  const h = req.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    const lower = name.toLowerCase();
    switch (lower) {
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
        continue;
      case 'x-forwarded-for':
        xff = xff === undefined ? h[i + 1]! : `${xff}, ${h[i + 1]!}`;
        continue;
      case 'host':
        // An absolute-form target's authority replaces Host (RFC 9112 §3.2.2).
        if (req.authority !== undefined) continue;
        sawHost = true;
        break;
      case 'content-length':
        // Sent once below: the parser collapsed identical duplicates ("5, 5").
        continue;
    }
    if (forwarded(lower, tokens, drop)) head += `${name}: ${h[i + 1]!}\r\n`;
  }
  if (!sawHost && req.host !== undefined) head += `Host: ${req.host}\r\n`;
  if (req.contentLength >= 0 && !req.chunked) head += `Content-Length: ${req.contentLength}\r\n`;
  if (!drop.has('x-forwarded-for')) head += `X-Forwarded-For: ${xff === undefined ? clientAddress : `${xff}, ${clientAddress}`}\r\n`;
  if (!drop.has('x-forwarded-proto')) head += secure ? 'X-Forwarded-Proto: https\r\n' : 'X-Forwarded-Proto: http\r\n';
  if (req.host !== undefined && !drop.has('x-forwarded-host')) head += `X-Forwarded-Host: ${req.host}\r\n`;
  if (req.upgrade !== undefined) head += `Connection: upgrade\r\nUpgrade: ${req.upgrade}\r\n`;
  else if (req.versionMinor === 0) head += 'Connection: keep-alive\r\n';
  if (!rules.request.empty) head += rules.request.render(source.vars());
  return `${head}\r\n`;
}

/**
 * The response head for the client. `closeAfter`: the client connection closes after this
 * response (Connection: close). `upgrade`: a 101's protocol, for a tunnel.
 */
export function buildResponseHead(
  res: ResponseHead,
  rules: CompiledRules,
  clientVersionMinor: 0 | 1,
  closeAfter: boolean,
  source: RuleVarsSource,
  upgrade?: string,
): string {
  const drop = rules.response.drop;
  const tokens = res.connectionTokens;
  let head = `HTTP/1.1 ${res.status} ${res.reason}\r\n`;
  const h = res.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    const lower = name.toLowerCase();
    // Content-Length is sent once below (identical duplicates were collapsed).
    if (lower !== 'content-length' && forwarded(lower, tokens, drop)) head += `${name}: ${h[i + 1]!}\r\n`;
  }
  if (res.contentLength >= 0) head += `Content-Length: ${res.contentLength}\r\n`;
  if (!rules.response.empty) head += rules.response.render(source.vars());
  if (upgrade !== undefined) head += `Connection: upgrade\r\nUpgrade: ${upgrade}\r\n`;
  else if (closeAfter) head += 'Connection: close\r\n';
  else if (clientVersionMinor === 0) head += 'Connection: keep-alive\r\n';
  return `${head}\r\n`;
}

/**
 * Whether a received header (lower-cased name) goes on to the next hop: not hop-by-hop
 * (RFC 9110 §7.6.1: it describes this connection, not the message), not named in the
 * message's Connection header, not removed by a header rule. handoff adds its own
 * Connection/Upgrade where the next hop needs them.
 */
export function forwarded(lower: string, connectionTokens: readonly string[], drop: ReadonlySet<string>): boolean {
  switch (lower) {
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'te':
    case 'upgrade':
      return false;
  }
  if (connectionTokens.length > 0 && connectionTokens.includes(lower)) return false;
  return drop.size === 0 || !drop.has(lower);
}

/** The first value of a header (lower-cased name) in a flat [name, value, ...] list. */
export function headerValue(headers: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === lowerName) return headers[i + 1];
  return undefined;
}
