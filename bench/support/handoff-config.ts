// The config handoff runs under test. Every reload a benchmark asks for must change it (a
// byte-identical config is "unchanged", a no-op), so the config carries a variant number:
// a response header rule whose value is the variant. A new value recompiles what any real
// change recompiles (frontends, routers, header rules, backends) and lets a client see
// which config answered it.

export interface HandoffConfigOptions {
  readonly workers: number;
  readonly backendPort: number;
  /** drain.timeout (default 30s, handoff's default). */
  readonly drainTimeout?: string;
  readonly migrate?: boolean;
  /** timeouts.keep-alive (handoff's default 60s closes idle client connections after a minute). */
  readonly keepAlive?: string;
  /** The frontend's mode (default http). A tcp frontend has no header rule: its variant is not visible. */
  readonly mode?: 'http' | 'tcp';
  /** log.access (default off): 'stdout', or a file path. */
  readonly accessLog?: string;
}

/** The response header that carries the variant of the config that answered. */
export const VARIANT_HEADER = 'X-Bench-Config';

export function handoffConfig(port: number, o: HandoffConfigOptions, variant: number): string {
  return [
    'control: ./handoff.sock',
    `workers: ${o.workers}`,
    `log: { access: ${o.accessLog ? JSON.stringify(o.accessLog) : 'off'} }`,
    `drain: { timeout: ${o.drainTimeout ?? '30s'}, migrate: ${o.migrate ?? true} }`,
    ...(o.keepAlive ? [`timeouts: { keep-alive: ${o.keepAlive} }`] : []),
    'frontends:',
    '  web:',
    `    bind: 127.0.0.1:${port}`,
    ...(o.mode === 'tcp' ? ['    mode: tcp'] : []),
    '    default_backend: app',
    ...(o.mode === 'tcp' ? [] : [`    headers: { response: { set: { ${VARIANT_HEADER}: "${variant}" } } }`]),
    'backends:',
    '  app:',
    '    servers:',
    `      - { name: s1, address: 127.0.0.1:${o.backendPort} }`,
    '',
  ].join('\n');
}

/** The config variant a response head says answered it, or undefined. */
export function variantOf(head: string | undefined): number | undefined {
  const m = new RegExp(`\\r\\n${VARIANT_HEADER}:\\s*(\\d+)`, 'i').exec(head ?? '');
  return m ? Number(m[1]) : undefined;
}
