// A frontend's TLS settings compiled for a worker: one SecureContext per certificate (the
// client CA in each, since the context SNI picks is the one that verifies client
// certificates), the SNI selector, and the options every accepted connection is wrapped
// with. Compiled at a live apply's prepare (a failure aborts the apply everywhere, I5); a
// context whose material did not change is taken over from the frontend in force, so an
// apply that does not touch certificates costs nothing here.
import { constants, createHash } from 'node:crypto';
import tls from 'node:tls';
import type { FrontendTls, TlsCertificate } from '../config/tls-types.js';
import { CertificateSelector } from './sni-match.js';

export interface CompiledTls {
  readonly config: FrontendTls;
  readonly selector: CertificateSelector<tls.SecureContext>;
  /** Contexts by material hash, for the next compile to take over. */
  readonly contexts: ReadonlyMap<string, tls.SecureContext>;
  /** Options for `new tls.TLSSocket(socket, ...)`. */
  readonly socketOptions: tls.TLSSocketOptions;
}

/** A certificate OpenSSL refuses (the master compiles at load too, so a reload fails with file:line:col). */
export class TlsCompileError extends Error {
  constructor(
    message: string,
    /** Index in config.certificates. */
    readonly certificate: number,
  ) {
    super(message);
  }
}

/** Build the contexts for `config`; `previous`: the same frontend's compiled TLS in force, if any. */
export function compileTls(config: FrontendTls, previous: CompiledTls | undefined): CompiledTls {
  const contexts = new Map<string, tls.SecureContext>();
  const entries: { names: readonly string[]; value: tls.SecureContext }[] = [];
  for (const cert of config.certificates) {
    const key = materialKey(config, cert);
    let ctx = contexts.get(key) ?? previous?.contexts.get(key);
    if (!ctx) {
      try {
        ctx = tls.createSecureContext({
          cert: cert.certPem,
          key: cert.keyPem,
          minVersion: config.minVersion,
          ticketKeys: Buffer.from(config.ticketKeys, 'base64'),
          // TLS 1.2 renegotiation asked by a client is refused (as nginx and HAProxy do): each
          // one costs a key exchange and a signature, so a client looping on it floods the
          // CPU. Node's own limit (tls.CLIENT_RENEG_LIMIT) is enforced only for the sockets
          // of a tls.Server, not for the TLSSockets tls-accept.ts wraps.
          secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
          // Which sessions may resume here. With client certificates OpenSSL needs one, or a
          // client that resumes is refused with internal_error (tls.Server sets one itself;
          // these contexts are not a tls.Server's). Derived from the client CA and mode, so a
          // session verified against another client_ca is not resumed: a full handshake is.
          sessionIdContext: sessionIdContext(config),
          ...(config.clientCa ? { ca: config.clientCa.pem } : {}),
        });
      } catch (err) {
        // Never the key: only which certificate and Node's code.
        throw new TlsCompileError(
          `cannot use the certificate ${cert.certFile}: ${(err as { code?: string }).code ?? 'invalid'}`,
          config.certificates.indexOf(cert),
        );
      }
    }
    contexts.set(key, ctx);
    entries.push({ names: cert.names, value: ctx });
  }
  const selector = new CertificateSelector(entries, entries[0]!.value);
  const socketOptions: tls.TLSSocketOptions = {
    isServer: true,
    secureContext: selector.fallback,
    SNICallback: (servername, cb) => cb(null, selector.select(servername)),
    ALPNProtocols: ['http/1.1'],
    requestCert: config.clientCert !== 'none',
    // required: OpenSSL refuses a handshake without a certificate. The chain itself is
    // verified after the handshake, for both modes (tls-accept.ts): a certificate that does
    // not verify is refused, as nginx's ssl_verify_client on/optional does.
    rejectUnauthorized: config.clientCert === 'required',
  };
  return { config, selector, contexts, socketOptions };
}

/** 32 hex characters (OpenSSL takes at most 32 bytes). */
function sessionIdContext(config: FrontendTls): string {
  return createHash('sha256')
    .update('handoff frontend tls\0')
    .update(config.clientCert)
    .update('\0')
    .update(config.clientCa?.pem ?? '')
    .digest('hex')
    .slice(0, 32);
}

function materialKey(config: FrontendTls, cert: TlsCertificate): string {
  return createHash('sha256')
    .update(cert.certPem)
    .update('\0')
    .update(cert.keyPem)
    .update('\0')
    .update(config.minVersion)
    .update('\0')
    .update(config.clientCa?.pem ?? '')
    .update('\0')
    .update(config.clientCert)
    .update('\0')
    .update(config.ticketKeys)
    .digest('hex');
}
