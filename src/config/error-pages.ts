// Error pages handoff answers with itself (no route, no server, timeouts, bad requests).
// Built-in pages are small HTML; `errors:` at the top level, then per frontend, replace them
// with file contents read at load time (a reload picks up edited files).
import { extname } from 'node:path';
import type { ErrorPage, ErrorPages } from './types.js';

export const ERROR_STATUSES = [400, 403, 404, 408, 413, 431, 500, 502, 503, 504] as const;

const REASONS: Readonly<Record<number, [reason: string, text: string]>> = {
  400: ['Bad Request', 'The request could not be understood.'],
  403: ['Forbidden', 'The request was refused.'],
  404: ['Not Found', 'No route matches this request.'],
  408: ['Request Timeout', 'The request took too long to arrive.'],
  413: ['Payload Too Large', 'The request is larger than allowed.'],
  431: ['Request Header Fields Too Large', 'The request headers are larger than allowed.'],
  500: ['Internal Server Error', 'Something went wrong in the proxy.'],
  502: ['Bad Gateway', 'The server answered with something that is not a valid response.'],
  503: ['Service Unavailable', 'No server is available to handle this request.'],
  504: ['Gateway Timeout', 'The server did not answer in time.'],
};

function builtInPage(status: number): ErrorPage {
  const [reason, text] = REASONS[status]!;
  const body =
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>${status} ${reason}</title></head>\n` +
    `<body><h1>${status} ${reason}</h1><p>${text}</p></body></html>\n`;
  return { status, contentType: 'text/html; charset=utf-8', body };
}

export const BUILT_IN_ERROR_PAGES: ErrorPages = Object.fromEntries(ERROR_STATUSES.map((s) => [String(s), builtInPage(s)]));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.xml': 'application/xml',
};

/** Content type of a page file, by extension (HTML when unknown: these are error pages). */
export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'text/html; charset=utf-8';
}

/** base with the pages of `overrides` (status → absolute file path) replaced by those files' contents. */
export function withErrorFiles(
  base: ErrorPages,
  overrides: Readonly<Record<string, string>> | undefined,
  contents: ReadonlyMap<string, Buffer>,
): ErrorPages {
  if (!overrides) return base;
  const out: Record<string, ErrorPage> = { ...base };
  for (const [status, file] of Object.entries(overrides)) {
    const bytes = contents.get(file);
    if (bytes === undefined) continue; // unreadable files were reported as errors before this runs
    out[status] = { status: Number(status), contentType: contentTypeFor(file), body: bytes.toString('utf8'), file };
  }
  return out;
}
