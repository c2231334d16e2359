// HAProxy under test, in master-worker mode (-W -db: foreground; on SIGUSR2 the master
// re-executes itself, starts a new worker and soft-stops the old ones), 2 threads,
// keep-alive to the backend: docs/origin.md's setup without its reload script's mistakes.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForListen } from './ports.js';
import { signalReloadedProxy, type ProxyUnderTest } from './proxy.js';
import { startService, untilReady } from './service-process.js';

export const HAPROXY_BIN = '/usr/sbin/haproxy';

export function haproxyInstalled(): boolean {
  return existsSync(HAPROXY_BIN);
}

export function haproxyConfig(port: number, backendPort: number, threads: number, mode: 'http' | 'tcp' = 'http'): string {
  return [
    'global',
    `  nbthread ${threads}`,
    // Each connection takes 2 fds: HAProxy refuses to start when 2 x maxconn exceeds ulimit -n.
    '  maxconn 8000',
    // Bounds the life of a soft-stopped worker, like handoff's drain.timeout.
    '  hard-stop-after 30s',
    'defaults',
    `  mode ${mode}`,
    ...(mode === 'http' ? ['  option http-keep-alive'] : []),
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    ...(mode === 'http' ? ['  timeout http-keep-alive 60s'] : []),
    'frontend web',
    `  bind 127.0.0.1:${port}`,
    '  default_backend app',
    'backend app',
    `  server s1 127.0.0.1:${backendPort}`,
    '',
  ].join('\n');
}

export async function startHaproxy(backendPort: number, threads = 2, mode: 'http' | 'tcp' = 'http'): Promise<ProxyUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-haproxy-'));
  const port = await freePort();
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(port, backendPort, threads, mode));
  const service = startService('haproxy', HAPROXY_BIN, ['-W', '-db', '-f', file], {
    stopSignal: 'SIGTERM',
    // The master logs this line for each SIGUSR2 it acts on.
    countLines: { reloads: /Reloading HAProxy/ },
  });
  void service.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  await untilReady(service, () => waitForListen(port));
  return signalReloadedProxy(service, {
    label: `haproxy (nbthread ${threads}${mode === 'tcp' ? ', mode tcp' : ''})`,
    kind: 'haproxy',
    port,
    signal: 'SIGUSR2',
  });
}
