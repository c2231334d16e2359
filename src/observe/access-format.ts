// How one access-log entry becomes one line (`log.format`):
//
//   json      the entry as a JSON object (undefined fields left out).
//   combined  Apache/nginx "combined", then handoff's fields as key=value in a fixed order:
//
//   127.0.0.1 - - [26/Nov/2026:16:47:02 +0000] "GET /x HTTP/1.1" 200 512 "-" "curl/8.5.0" host="a.example"
//     request_id="5f3a9c1e-1b" client_request_id="-" frontend="web" route="api" backend="app" server="app-1"
//     bytes_in=78 queue_ms=0 connect_ms=1 response_ms=3 total_ms=4 termination="ok" retries=0 migrated=0 generation=3 pid=4121
//
// $remote_addr is the client's address without its port (JSON's `client` has both).
// Every line has every key, in this order (a missing value is "-" or -), so a log parser
// needs one pattern. The byte count after the status is every byte sent to the client,
// head included (nginx $bytes_sent, Apache %O). The time is the request's start, in UTC.
// Strings are quoted and escaped as nginx does: " and \ and every byte outside printable
// ASCII become \xHH, so a client cannot forge a line or a field.
import type { AccessLogFormat } from '../config/types.js';
import type { AccessEntry } from './access-entry.js';

export type FormatEntry = (entry: AccessEntry) => string;

export function entryFormatter(format: AccessLogFormat | undefined): FormatEntry {
  return format === 'combined' ? combinedLine : jsonLine;
}

/**
 * Every key of AccessEntry, in the order of the JSON line: the HTTP entry's order, which the
 * TCP entry's keys follow as a subsequence, so the line is byte for byte what
 * JSON.stringify(entry) gives for both (test/observe/access-format.test.ts checks it).
 */
export const JSON_KEYS = [
  'time',
  'generation',
  'pid',
  'client',
  'frontend',
  'host',
  'request_id',
  'client_request_id',
  'route',
  'backend',
  'server',
  'method',
  'path',
  'protocol',
  'status',
  'user_agent',
  'referer',
  'bytes_in',
  'bytes_out',
  'timings',
  'termination',
  'retries',
  'migrated',
] as const;

// A key added to AccessEntry but not to JSON_KEYS (and to jsonLine) is a compile error here:
// the line would silently leave it out.
type MissingJsonKey = Exclude<keyof AccessEntry, (typeof JSON_KEYS)[number]>;
const allKeysWritten: [MissingJsonKey] extends [never] ? true : MissingJsonKey = true;
void allKeysWritten;

/** Whether JSON.stringify would escape something in s: ", \\, a control character, a surrogate. */
function needsJsonEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

function jsonString(s: string): string {
  return needsJsonEscape(s) ? JSON.stringify(s) : `"${s}"`;
}

function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * The entry as a JSON object, undefined fields left out. Written out field by field: the
 * generic JSON.stringify walk of the object costs a worker about 2 µs per request more
 * (docs/performance.md), and the access log is on every request.
 */
const jsonLine: FormatEntry = (e) => {
  let out = `{"time":${jsonString(e.time)},"generation":${jsonNumber(e.generation)},"pid":${jsonNumber(e.pid)}`;
  out += `,"client":${jsonString(e.client)},"frontend":${jsonString(e.frontend)}`;
  if (e.host !== undefined) out += `,"host":${jsonString(e.host)}`;
  if (e.request_id !== undefined) out += `,"request_id":${jsonString(e.request_id)}`;
  if (e.client_request_id !== undefined) out += `,"client_request_id":${jsonString(e.client_request_id)}`;
  if (e.route !== undefined) out += `,"route":${jsonString(e.route)}`;
  if (e.backend !== undefined) out += `,"backend":${jsonString(e.backend)}`;
  if (e.server !== undefined) out += `,"server":${jsonString(e.server)}`;
  if (e.method !== undefined) out += `,"method":${jsonString(e.method)}`;
  if (e.path !== undefined) out += `,"path":${jsonString(e.path)}`;
  if (e.protocol !== undefined) out += `,"protocol":"${e.protocol}"`;
  if (e.status !== undefined) out += `,"status":${jsonNumber(e.status)}`;
  if (e.user_agent !== undefined) out += `,"user_agent":${jsonString(e.user_agent)}`;
  if (e.referer !== undefined) out += `,"referer":${jsonString(e.referer)}`;
  out += `,"bytes_in":${jsonNumber(e.bytes_in)},"bytes_out":${jsonNumber(e.bytes_out)}`;
  const t = e.timings;
  out += ',"timings":{';
  let sep = '';
  if (t.queue !== undefined) {
    out += `"queue":${jsonNumber(t.queue)}`;
    sep = ',';
  }
  if (t.connect !== undefined) {
    out += `${sep}"connect":${jsonNumber(t.connect)}`;
    sep = ',';
  }
  if (t.response !== undefined) {
    out += `${sep}"response":${jsonNumber(t.response)}`;
    sep = ',';
  }
  out += `${sep}"total":${jsonNumber(t.total)}},"termination":${jsonString(e.termination)}`;
  if (e.retries !== undefined) out += `,"retries":${jsonNumber(e.retries)}`;
  if (e.migrated !== undefined) out += `,"migrated":${e.migrated ? 'true' : 'false'}`;
  return `${out}}`;
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "2026-11-26T16:47:02.113Z" → "26/Nov/2026:16:47:02 +0000" (the entry's time is already ISO). */
function timeLocal(iso: string): string {
  return `${iso.slice(8, 10)}/${MONTHS[Number(iso.slice(5, 7)) - 1]}/${iso.slice(0, 4)}:${iso.slice(11, 19)} +0000`;
}

/** Anything a client could use to break out of a quoted field or the line. */
function unsafeForNginx(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x7f) return true;
  }
  return false;
}

/** nginx's escaping of a logged string: ", \ and non-printable or non-ASCII bytes as \xHH. */
function nginxEscape(s: string): string {
  if (!unsafeForNginx(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x7f) {
      // Header values are latin1 (one char per byte); beyond a byte, escape each UTF-8 byte.
      if (c <= 0xff) out += `\\x${c < 0x10 ? '0' : ''}${c.toString(16).toUpperCase()}`;
      else for (const b of Buffer.from(s[i]!, 'utf8')) out += `\\x${b.toString(16).toUpperCase()}`;
    } else out += s[i];
  }
  return out;
}

/** "127.0.0.1:5123" → "127.0.0.1", "[::1]:5123" → "::1": $remote_addr has no port. */
function remoteAddr(client: string): string {
  if (client.startsWith('[')) return client.slice(1, client.indexOf(']'));
  const colon = client.lastIndexOf(':');
  return colon < 0 ? client : client.slice(0, colon);
}

function quoted(s: string | undefined): string {
  return s === undefined || s === '' ? '"-"' : `"${nginxEscape(s)}"`;
}

function num(n: number | undefined): string {
  return n === undefined ? '-' : String(n);
}

const combinedLine: FormatEntry = (e) => {
  const request = e.method === undefined ? '"-"' : `"${nginxEscape(e.method)} ${nginxEscape(e.path ?? '')} ${e.protocol ?? 'HTTP/1.1'}"`;
  const t = e.timings;
  return (
    remoteAddr(e.client) +
    ' - - [' +
    timeLocal(e.time) +
    '] ' +
    request +
    ' ' +
    num(e.status) +
    ' ' +
    e.bytes_out +
    ' ' +
    quoted(e.referer) +
    ' ' +
    quoted(e.user_agent) +
    ' host=' +
    quoted(e.host) +
    ' request_id=' +
    quoted(e.request_id) +
    ' client_request_id=' +
    quoted(e.client_request_id) +
    ' frontend=' +
    quoted(e.frontend) +
    ' route=' +
    quoted(e.route) +
    ' backend=' +
    quoted(e.backend) +
    ' server=' +
    quoted(e.server) +
    ' bytes_in=' +
    e.bytes_in +
    ' queue_ms=' +
    num(t.queue) +
    ' connect_ms=' +
    num(t.connect) +
    ' response_ms=' +
    num(t.response) +
    ' total_ms=' +
    t.total +
    ' termination=' +
    quoted(e.termination) +
    ' retries=' +
    (e.retries ?? 0) +
    ' migrated=' +
    (e.migrated ? 1 : 0) +
    ' generation=' +
    e.generation +
    ' pid=' +
    e.pid
  );
};
