// `tls:` on an HTTP frontend, read and checked by the master at load (so `handoff check` and a
// reload say the same thing, with file:line:col, and every worker gets the same bytes):
// every file readable, each key matching its certificate, an expired certificate refused,
// one that expires within EXPIRY_WARNING_DAYS warned about, a key file that group or others
// can read warned about. The result goes into the model (tls-types.ts); the bytes also go
// into the config hash, so a certificate changed on disk makes `handoff reload` apply it.
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CertificateProblem, inspectPair, readCertificate, type CertificateFacts } from '../tls/certificate.js';
import { keyPermissionWarning } from '../tls/key-permissions.js';
import { compileTls, TlsCompileError } from '../tls/secure-contexts.js';
import { ticketKeysFor } from '../tls/ticket-keys.js';
import type { PathSegment } from './issue.js';
import { FileReadProblem, readRegularFile, TLS_FILE_MAX_BYTES } from './read-regular-file.js';
import type { Reporter } from './semantic-checks.js';
import type { ClientCertMode, FrontendTls, TlsCertificate, TlsVersion } from './tls-types.js';

export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined);

export interface TlsLoad {
  /** Frontend name → its TLS settings (only frontends whose tls is valid). */
  readonly frontends: Map<string, FrontendTls>;
  /** Absolute path → bytes of every file read, for the config hash. */
  readonly files: Map<string, Buffer>;
}

/** Check and read the `tls` of every frontend. `now`: epoch ms (tests pass their own). */
export async function loadFrontendTls(data: unknown, baseDir: string, report: Reporter, now = Date.now()): Promise<TlsLoad> {
  const out: TlsLoad = { frontends: new Map(), files: new Map() };
  const frontends = rec(rec(data)?.frontends) ?? {};
  for (const [name, value] of Object.entries(frontends)) {
    const fe = rec(value);
    const tls = rec(fe?.tls);
    if (!fe || !tls) continue;
    const at: PathSegment[] = ['frontends', name, 'tls'];
    if (fe.mode === 'tcp') {
      report.error(at, 'key', 'tls termination applies to http frontends (a tcp frontend forwards TLS bytes untouched)');
      continue;
    }
    const loaded = await loadOne(name, at, tls, baseDir, report, out.files, now);
    if (loaded) out.frontends.set(name, loaded);
  }
  return out;
}

async function loadOne(
  frontend: string,
  at: PathSegment[],
  tls: Rec,
  baseDir: string,
  report: Reporter,
  files: Map<string, Buffer>,
  now: number,
): Promise<FrontendTls | undefined> {
  let ok = true;
  const fail = (path: PathSegment[], target: 'key' | 'value' | 'node', message: string) => {
    ok = false;
    report.error(path, target, message);
  };
  const pairs: { cert: string; key: string; certPath: PathSegment[]; keyPath: PathSegment[] }[] = [];
  if (Array.isArray(tls.certificates)) {
    tls.certificates.forEach((entry, i) => {
      const e = rec(entry);
      if (!e || typeof e.cert !== 'string' || typeof e.key !== 'string') return; // the schema reported it
      pairs.push({
        cert: resolve(baseDir, e.cert),
        key: resolve(baseDir, e.key),
        certPath: [...at, 'certificates', i, 'cert'],
        keyPath: [...at, 'certificates', i, 'key'],
      });
    });
  }
  if (typeof tls.directory === 'string') {
    const found = await directoryPairs(resolve(baseDir, tls.directory), [...at, 'directory'], fail);
    pairs.push(...found);
  }
  if (pairs.length === 0 && ok) {
    if (!('certificates' in tls) && !('directory' in tls)) fail(at, 'key', 'tls needs certificates (a list of {cert, key}) or a directory');
    else if (typeof tls.directory === 'string' && !Array.isArray(tls.certificates))
      fail([...at, 'directory'], 'value', 'no certificate in this folder (NAME.pem or NAME.crt with NAME.key)');
  }

  const certificates: TlsCertificate[] = [];
  const certificatePaths: PathSegment[][] = [];
  for (const p of pairs) {
    const certBytes = await readOrReport(p.cert, 'certificate', p.certPath, fail);
    const keyBytes = await readOrReport(p.key, 'private key', p.keyPath, fail);
    if (!certBytes || !keyBytes) continue;
    files.set(p.cert, certBytes);
    files.set(p.key, keyBytes);
    let facts: CertificateFacts;
    try {
      facts = inspectPair(certBytes, keyBytes);
    } catch (err) {
      if (!(err instanceof CertificateProblem)) throw err;
      const onKey = /private key/.test(err.message) && !/match/.test(err.message);
      fail(onKey ? p.keyPath : p.certPath, 'value', `${onKey ? p.key : p.cert}: ${err.message}`);
      continue;
    }
    if (facts.names.length === 0)
      report.warning(p.certPath, 'value', `${p.cert} names no DNS name (no SAN DNS entry, no CN): it can only be the default`);
    if (facts.notAfter <= now) {
      fail(p.certPath, 'value', `the certificate ${p.cert} expired on ${new Date(facts.notAfter).toISOString()}`);
      continue;
    }
    const days = (facts.notAfter - now) / DAY_MS;
    if (days < EXPIRY_WARNING_DAYS)
      report.warning(
        p.certPath,
        'value',
        `the certificate ${p.cert} expires in ${days < 1 ? 'less than a day' : Math.floor(days) === 1 ? '1 day' : `${Math.floor(days)} days`} (${new Date(facts.notAfter).toISOString()})`,
      );
    if (facts.notBefore > now)
      report.warning(p.certPath, 'value', `the certificate ${p.cert} is not valid before ${new Date(facts.notBefore).toISOString()}`);
    const perms = await keyPermissionWarning(p.key);
    if (perms) report.warning(p.keyPath, 'value', perms);
    certificatePaths.push(p.certPath);
    certificates.push({
      certFile: p.cert,
      keyFile: p.key,
      certPem: certBytes.toString('latin1'),
      keyPem: keyBytes.toString('latin1'),
      names: facts.names,
      notAfter: facts.notAfter,
      serial: facts.serial,
      fingerprint: facts.fingerprint,
    });
  }

  const minVersion: TlsVersion = tls.min_version === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2';
  let clientCa: FrontendTls['clientCa'];
  if (typeof tls.client_ca === 'string') {
    const file = resolve(baseDir, tls.client_ca);
    const bytes = await readOrReport(file, 'client CA', [...at, 'client_ca'], fail);
    if (bytes) {
      files.set(file, bytes);
      try {
        readCertificate(bytes);
        clientCa = { file, pem: bytes.toString('latin1') };
      } catch (err) {
        fail([...at, 'client_ca'], 'value', `${file}: ${(err as Error).message}`);
      }
    }
  }
  let clientCert: ClientCertMode = 'none';
  if (tls.client_cert === 'required' || tls.client_cert === 'optional') {
    clientCert = tls.client_cert;
    if (!('client_ca' in tls))
      fail([...at, 'client_cert'], 'key', 'client_cert needs client_ca (the CA certificates client certificates must chain to)');
  } else if ('client_ca' in tls) clientCert = 'required';

  if (!ok || certificates.length === 0) return undefined;
  const model: FrontendTls = {
    certificates,
    minVersion,
    clientCert,
    ...(clientCa ? { clientCa } : {}),
    ticketKeys: ticketKeysFor(frontend),
  };
  // What the workers will build, built here once: OpenSSL refuses more than the checks above
  // see (a corrupt certificate further down the chain, a key type it cannot use), and a
  // refusal in the workers would fail the reload without a position.
  try {
    compileTls(model, undefined);
  } catch (err) {
    if (!(err instanceof TlsCompileError)) throw err;
    fail(certificatePaths[err.certificate] ?? at, 'value', err.message);
    return undefined;
  }
  return model;
}

async function readOrReport(
  file: string,
  what: string,
  path: PathSegment[],
  fail: (path: PathSegment[], target: 'value', message: string) => void,
): Promise<Buffer | undefined> {
  try {
    return await readRegularFile(file, TLS_FILE_MAX_BYTES);
  } catch (err) {
    if (err instanceof FileReadProblem) {
      fail(path, 'value', `cannot read the ${what} ${file}: it ${err.message}`);
      return undefined;
    }
    const code = (err as { code?: string }).code;
    fail(path, 'value', `cannot read the ${what} ${file}: ${code ?? (err as Error).message}`);
    return undefined;
  }
}

/**
 * A folder of pairs: NAME.pem or NAME.crt (certificate and chain) with NAME.key. Sorted by
 * name; "default" (default.pem/.crt) comes first when present, so it is the default.
 */
async function directoryPairs(
  dir: string,
  path: PathSegment[],
  fail: (path: PathSegment[], target: 'value', message: string) => void,
): Promise<{ cert: string; key: string; certPath: PathSegment[]; keyPath: PathSegment[] }[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    fail(path, 'value', `cannot read the certificate folder ${dir}: ${(err as { code?: string }).code ?? (err as Error).message}`);
    return [];
  }
  const names = new Set(entries);
  const out: { cert: string; key: string; certPath: PathSegment[]; keyPath: PathSegment[] }[] = [];
  const stems = entries
    .filter((e) => /\.(pem|crt)$/.test(e) && !/\.key\.pem$/.test(e))
    .map((e) => ({ file: e, stem: e.replace(/\.(pem|crt)$/, '') }))
    .filter((e) => names.has(`${e.stem}.key`))
    .sort((a, b) => (a.stem === 'default' ? -1 : b.stem === 'default' ? 1 : a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const seen = new Set<string>();
  for (const e of stems) {
    if (seen.has(e.stem)) continue; // NAME.pem and NAME.crt: the first (sorted) wins
    seen.add(e.stem);
    out.push({ cert: join(dir, e.file), key: join(dir, `${e.stem}.key`), certPath: path, keyPath: path });
  }
  return out;
}
