// handoff's own responses (400, 408, 431, 502, 503, 504, ...): the configured page, with
// the frontend's and route's response header rules applied, so an operator can always
// tell which generation and process answered.
import type { ErrorPages } from '../config/types.js';
import type { CompiledOps, RuleVars } from './header-rules.js';

export const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue',
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  206: 'Partial Content',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  417: 'Expectation Failed',
  421: 'Misdirected Request',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

const FALLBACK_BODY = (status: number) => `<html><body><h1>${status} ${REASONS[status] ?? ''}</h1></body></html>\n`;

/** The whole response (head and body) as a latin1-safe string, and its byte length. */
export function renderErrorResponse(status: number, pages: ErrorPages, rules: CompiledOps, vars: RuleVars, close: boolean): Buffer {
  const page = pages[String(status)];
  const body = Buffer.from(page?.body ?? FALLBACK_BODY(status), 'utf8');
  let head =
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
    `Content-Type: ${page?.contentType ?? 'text/html; charset=utf-8'}\r\n` +
    `Content-Length: ${body.length}\r\n` +
    'Cache-Control: no-cache\r\n';
  if (close) head += 'Connection: close\r\n';
  head += `${rules.render(vars)}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
