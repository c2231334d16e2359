// Which certificate answers a TLS ClientHello's server name (SNI). Names come from the
// certificates themselves (see certificate.ts). An exact name wins over a wildcard; a
// wildcard "*.example.com" covers exactly one label ("a.example.com", not "example.com" nor
// "a.b.example.com"), as RFC 6125 §6.4.3 and browsers have it. Among certificates that
// claim the same name, the first listed wins. No match (or no SNI at all, as with a bare
// IP address): the default, the first certificate.

export class CertificateSelector<T> {
  private readonly exact = new Map<string, T>();
  private readonly wildcard = new Map<string, T>();

  constructor(
    entries: readonly { readonly names: readonly string[]; readonly value: T }[],
    readonly fallback: T,
  ) {
    for (const e of entries) {
      for (const raw of e.names) {
        const name = raw.toLowerCase();
        if (name.startsWith('*.')) {
          const suffix = name.slice(2);
          if (!this.wildcard.has(suffix)) this.wildcard.set(suffix, e.value);
        } else if (!this.exact.has(name)) this.exact.set(name, e.value);
      }
    }
  }

  /** The value for a server name (any case, an optional trailing dot). */
  select(serverName: string | undefined): T {
    if (!serverName) return this.fallback;
    let name = serverName.toLowerCase();
    if (name.endsWith('.')) name = name.slice(0, -1);
    const hit = this.exact.get(name);
    if (hit !== undefined) return hit;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const w = this.wildcard.get(name.slice(dot + 1));
      if (w !== undefined) return w;
    }
    return this.fallback;
  }

  /** Whether any certificate names this server name (else the default answers it). */
  covers(serverName: string): boolean {
    const name = serverName.toLowerCase().replace(/\.$/, '');
    if (this.exact.has(name)) return true;
    const dot = name.indexOf('.');
    return dot > 0 && this.wildcard.has(name.slice(dot + 1));
  }
}

/** Whether a certificate name (possibly a wildcard) covers a host name. */
export function nameCovers(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return p === h;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}
