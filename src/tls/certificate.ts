// What handoff needs to know about a certificate and its key, read with node:crypto only:
// the names it serves (SAN DNS names; the subject CN only when there is no SAN, as browsers
// and RFC 6125 do), its validity window, its serial and fingerprint (shown by status, never
// the key), and whether the key belongs to it. Errors never quote key bytes: they say what
// is wrong in words, with Node's error code at most.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

export interface CertificateFacts {
  /** DNS names it serves, lower-cased; may hold wildcards ("*.example.com"). */
  readonly names: readonly string[];
  /** Epoch ms. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** Hex, upper case, as openssl prints it. */
  readonly serial: string;
  /** SHA-256 fingerprint "AB:CD:...". */
  readonly fingerprint: string;
  /** RFC 2253-like one-line subject ("CN=a.example.com, O=Example"). */
  readonly subject: string;
}

export class CertificateProblem extends Error {}

/** Parse the first certificate of a PEM file (a chain: leaf first). */
export function readCertificate(pem: Buffer | string): X509Certificate {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new CertificateProblem('not a PEM certificate (no "BEGIN CERTIFICATE" block)');
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new CertificateProblem(`not a valid PEM certificate (${codeOf(err)})`);
  }
}

/** Parse a private key (PEM, unencrypted). */
export function readPrivateKey(pem: Buffer | string): KeyObject {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  if (/ENCRYPTED/.test(text))
    throw new CertificateProblem('the private key is encrypted (passphrases are not supported: store it unencrypted, mode 0600)');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    throw new CertificateProblem('not a PEM private key (no "BEGIN ... PRIVATE KEY" block)');
  try {
    return createPrivateKey(pem);
  } catch (err) {
    // Node's message can name the key's structure; only its code is passed on.
    throw new CertificateProblem(`not a valid private key (${codeOf(err)})`);
  }
}

/** The facts of a certificate; throws CertificateProblem when the key does not belong to it. */
export function inspectPair(certPem: Buffer | string, keyPem: Buffer | string): CertificateFacts {
  const cert = readCertificate(certPem);
  const key = readPrivateKey(keyPem);
  if (!cert.checkPrivateKey(key)) throw new CertificateProblem('the private key does not match the certificate');
  return certificateFacts(cert);
}

export function certificateFacts(cert: X509Certificate): CertificateFacts {
  return {
    names: certificateNames(cert),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    serial: cert.serialNumber.toUpperCase(),
    fingerprint: cert.fingerprint256,
    subject: oneLineName(cert.subject),
  };
}

/** SAN DNS names, or the subject's CN when the certificate has no SAN DNS name. */
export function certificateNames(cert: X509Certificate): string[] {
  const names: string[] = [];
  for (const entry of splitAltNames(cert.subjectAltName ?? '')) {
    if (entry.startsWith('DNS:')) names.push(entry.slice(4).toLowerCase());
  }
  if (names.length > 0) return [...new Set(names)];
  for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) names.push(line.slice(3).toLowerCase());
  return names;
}

/** "CN=a\nO=b" (Node's form) → "CN=a, O=b". */
export function oneLineName(name: string | undefined): string {
  return (name ?? '')
    .split('\n')
    .filter((l) => l !== '')
    .join(', ');
}

/** Node joins entries with ", " and quotes entries that hold one ("DNS:a, DNS:b"). */
function splitAltNames(san: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < san.length; i++) {
    const c = san[i]!;
    if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted && san[i + 1] === ' ') {
      out.push(cur);
      cur = '';
      i++;
    } else cur += c;
  }
  if (cur !== '') out.push(cur);
  return out;
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'unreadable';
}
