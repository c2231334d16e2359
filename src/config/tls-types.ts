// The model of TLS termination on an HTTP frontend (`tls:` in the file). The master reads and
// checks every file at load, so the model carries the PEM text itself: every worker gets the
// same bytes with the config, and a file that changes after the check cannot make workers
// disagree. Key text lives only here and in the workers' secure contexts: status, logs,
// errors and metrics show the certificate's facts (names, expiry, serial), never a key.

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** none: no client certificate asked; optional: asked, checked when given; required: no handshake without a valid one. */
export type ClientCertMode = 'none' | 'optional' | 'required';

export interface TlsCertificate {
  /** Absolute paths, for status and messages. */
  readonly certFile: string;
  readonly keyFile: string;
  /** The certificate file (leaf first, then its chain), PEM. */
  readonly certPem: string;
  /** The private key, PEM. Never logged, never in status. */
  readonly keyPem: string;
  /** DNS names it serves (SAN, else CN), lower-cased; wildcards as "*.example.com". */
  readonly names: readonly string[];
  readonly notAfter: number;
  readonly serial: string;
  readonly fingerprint: string;
}

export interface FrontendTls {
  /** The first is the default (no SNI, or a name no certificate has). */
  readonly certificates: readonly TlsCertificate[];
  readonly minVersion: TlsVersion;
  readonly clientCert: ClientCertMode;
  /** CA certificates (PEM) that client certificates must chain to; with clientCert optional/required. */
  readonly clientCa?: { readonly file: string; readonly pem: string };
  /** Session ticket keys, base64 of 48 bytes, the same in every worker (src/tls/ticket-keys.ts). Never shown. */
  readonly ticketKeys: string;
}

/** `redirect_https:` on a frontend (its default action) or a route: answer with the https URL. */
export interface HttpsRedirect {
  /** 301 (moved permanently; clients may turn POST into GET) or 308 (same, keeps the method). */
  readonly code: 301 | 308;
  /** Port of the https URL; undefined: the scheme's default (443), no port in the URL. */
  readonly port?: number;
}
