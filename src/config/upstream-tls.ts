// TLS from handoff to servers: `tls:` on a backend, overridden per server (`tls: false` on a
// server opts it out; a mapping there replaces the backend's keys it names).
//
//   backends:
//     app:
//       tls: { ca: ./ca.pem }            # verify: true by default; or `tls: true`
//       servers:
//         - { name: a, address: 10.0.0.5:443, tls: { sni: a.internal } }
//
// CA files are read here, at load: an unreadable file, or one without a valid PEM
// certificate, is a config error at its position, so a bad CA never reaches a worker. Their
// bytes join the referenced files (the config hash: an edited CA is a reload with a change).
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { resolve } from 'node:path';
import type { RawUpstreamTls } from './file-types.js';
import type { PathSegment } from './issue.js';
import { readRegularFile, TLS_FILE_MAX_BYTES } from './read-regular-file.js';
import type { Target } from './yaml-source.js';
import type { Server, UpstreamTls } from './types.js';

/** What semantic-checks.ts reports through (declared here: that module imports this one). */
interface Reporter {
  error(path: PathSegment[], target: Target, message: string): void;
  warning(path: PathSegment[], target: Target, message: string): void;
}
type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined);
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

type Settings = { verify?: boolean; ca?: string; sni?: string };

/** The settings in force for a server: its own over its backend's; undefined = no TLS. */
function effective(backend: RawUpstreamTls | undefined, server: RawUpstreamTls | undefined): Settings | undefined {
  if (server === false) return undefined;
  const base: Settings | undefined = backend === undefined || backend === false ? undefined : backend === true ? {} : backend;
  if (server === undefined) return base;
  return { ...base, ...(server === true ? {} : server) };
}

/** The server with its TLS settings (normalize.ts; the config passed every check). */
export function withUpstreamTls(
  server: Server,
  backend: RawUpstreamTls | undefined,
  own: RawUpstreamTls | undefined,
  ctx: { readonly baseDir: string; readonly files: ReadonlyMap<string, Buffer> },
): Server {
  const s = effective(backend, own);
  if (!s) return server;
  let ca: UpstreamTls['ca'];
  if (s.ca !== undefined) {
    const file = resolve(ctx.baseDir, s.ca);
    ca = { file, pem: ctx.files.get(file)?.toString('latin1') ?? '' };
  }
  const tls: UpstreamTls = {
    verify: s.verify ?? true,
    ...(ca ? { ca } : {}),
    ...(s.sni === undefined ? {} : { sni: s.sni.toLowerCase() }),
  };
  return { ...server, tls };
}

/**
 * Checks every backend's and server's `tls` (sni a host name, CA files readable and holding
 * certificates, no TLS to servers behind a tcp frontend) and returns the CA files' bytes.
 */
export async function checkUpstreamTls(frontends: Rec, backends: Rec, baseDir: string, report: Reporter): Promise<Map<string, Buffer>> {
  const tcpUsers = tcpFrontendsByBackend(frontends);
  const cas = new Map<string, { path: PathSegment[]; file: string }[]>();
  for (const [name, value] of Object.entries(backends)) {
    const be = rec(value);
    if (!be) continue;
    const at: PathSegment[] = ['backends', name];
    const places: [PathSegment[], unknown][] = [[at, be.tls]];
    if (Array.isArray(be.servers)) for (const [i, s] of be.servers.entries()) places.push([[...at, 'servers', i], rec(s)?.tls]);
    for (const [path, tls] of places) {
      if (tls === undefined) continue;
      const settings = rec(tls);
      if (tls !== false && tcpUsers.has(name)) {
        report.error(
          [...path, 'tls'],
          'key',
          `TLS to servers is for http frontends: tcp frontend "${tcpUsers.get(name)}" forwards its clients' bytes untouched (to pass TLS through, route by sni)`,
        );
      }
      if (!settings) continue;
      if (typeof settings.sni === 'string' && (!HOST_NAME.test(settings.sni) || net.isIP(settings.sni) !== 0)) {
        report.error(
          [...path, 'tls', 'sni'],
          'value',
          `expected a host name such as "app.internal" for sni, got "${settings.sni}" (TLS server names are never IP addresses; without sni the certificate is checked against the server's IP)`,
        );
      }
      if (typeof settings.ca === 'string' && settings.ca !== '') {
        if (settings.verify === false)
          report.warning([...path, 'tls', 'ca'], 'key', 'ca is not used with verify: false (the certificate is not checked)');
        const abs = resolve(baseDir, settings.ca);
        const list = cas.get(abs) ?? [];
        list.push({ path: [...path, 'tls', 'ca'], file: settings.ca });
        cas.set(abs, list);
      }
    }
  }
  const contents = new Map<string, Buffer>();
  for (const [abs, uses] of cas) {
    const problem = await readCa(abs, contents);
    if (problem) for (const u of uses) report.error(u.path, 'value', `CA file "${u.file}": ${problem}`);
  }
  return contents;
}

/** Reads a CA file into `contents`; the problem with it, or undefined when it holds valid certificates. */
async function readCa(abs: string, contents: Map<string, Buffer>): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(abs, TLS_FILE_MAX_BYTES);
  } catch (err) {
    return `cannot read ${abs}: ${(err as Error).message}`;
  }
  const pems = bytes.toString('latin1').match(PEM_CERT) ?? [];
  if (pems.length === 0) return `no PEM certificate (-----BEGIN CERTIFICATE-----) in ${abs}`;
  for (const [i, pem] of pems.entries()) {
    try {
      new X509Certificate(pem);
    } catch (err) {
      return `certificate ${i + 1} in ${abs} is not valid: ${(err as Error).message}`;
    }
  }
  contents.set(abs, bytes);
  return undefined;
}

/** Backend name → a tcp frontend that sends connections to it. */
function tcpFrontendsByBackend(frontends: Rec): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(frontends)) {
    const fe = rec(value);
    if (fe?.mode !== 'tcp') continue;
    const refs = [fe.default_backend, ...(Array.isArray(fe.routes) ? fe.routes.map((r) => rec(r)?.backend) : [])];
    for (const b of refs) if (typeof b === 'string' && !out.has(b)) out.set(b, name);
  }
  return out;
}
