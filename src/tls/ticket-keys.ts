// TLS session ticket keys (issue 11). Every worker of every generation must encrypt and
// accept the same tickets, or a client that resumes reaches another worker and pays a full
// handshake. The master draws one random secret for its life (this module, in the master
// process, at the first config load) and derives each frontend's 48-byte key from it; the
// key travels to the workers with the config, like the certificates' keys, and is never
// shown. So tickets work on any worker and across reloads; a master restart starts over
// (as nginx does without ssl_session_ticket_key files). Tickets expire after Node's
// session timeout (300 s) whatever the key.
import { hkdfSync, randomBytes } from 'node:crypto';

let secret: Buffer | undefined;

/** The ticket key of a frontend, base64 (48 bytes: name, HMAC secret, AES key). */
export function ticketKeysFor(frontend: string): string {
  secret ??= randomBytes(32);
  return Buffer.from(hkdfSync('sha256', secret, 'handoff tls session tickets', frontend, 48)).toString('base64');
}
