// The certificates in force, as status, the stats page and /metrics show them: names,
// expiry, serial, fingerprint. Built from the master's config; no key ever.
import { basename } from 'node:path';
import type { Config } from '../config/types.js';

export interface TlsCertificateStatus {
  readonly frontend: string;
  /** The certificate file's name (its path: file). */
  readonly cert: string;
  readonly file: string;
  /** The first certificate of a frontend answers when no name matches. */
  readonly default: boolean;
  readonly names: readonly string[];
  /** Epoch ms. */
  readonly notAfter: number;
  readonly serial: string;
  readonly fingerprint: string;
}

export function certificateStatus(config: Config): TlsCertificateStatus[] {
  const out: TlsCertificateStatus[] = [];
  for (const f of config.frontends) {
    const certs = f.tls?.certificates ?? [];
    for (let i = 0; i < certs.length; i++) {
      const c = certs[i]!;
      out.push({
        frontend: f.name,
        cert: basename(c.certFile),
        file: c.certFile,
        default: i === 0,
        names: c.names,
        notAfter: c.notAfter,
        serial: c.serial,
        fingerprint: c.fingerprint,
      });
    }
  }
  return out;
}

/** Lines for `handoff status`. */
export function renderCertificates(certs: readonly TlsCertificateStatus[], now: number): string[] {
  if (certs.length === 0) return [];
  const out = ['', 'tls certificates:'];
  for (const c of certs) {
    const days = (c.notAfter - now) / 86_400_000;
    const left = days < 0 ? 'EXPIRED' : days < 2 ? `${Math.max(0, Math.round(days * 24))}h left` : `${Math.floor(days)} days left`;
    out.push(
      `  ${c.frontend}  ${c.cert}${c.default ? ' (default)' : ''}  ${c.names.join(', ') || '(no names)'}  expires ${new Date(c.notAfter).toISOString()} (${left})  serial ${c.serial}`,
    );
  }
  return out;
}
