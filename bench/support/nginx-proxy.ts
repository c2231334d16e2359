// nginx under test: master plus 2 workers in the foreground, keep-alive to the backend
// (upstream keepalive, HTTP/1.1, Connection header cleared); reload is SIGHUP to the master.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForListen } from './ports.js';
import { signalReloadedProxy, type ProxyUnderTest } from './proxy.js';
import { startService, untilReady } from './service-process.js';

export const NGINX_BIN = '/usr/sbin/nginx';

export function nginxInstalled(): boolean {
  return existsSync(NGINX_BIN);
}

/**
 * The part every nginx of the benches shares: main context and the start of `http` (temp
 * folders in `dir`, no access log, keep-alive connections that are never closed for their
 * request count). The caller adds its `upstream`/`server` blocks and the closing brace.
 */
export function nginxPreamble(dir: string, workers: number, errorLevel: 'notice' | 'warn'): string[] {
  const root = process.getuid?.() === 0;
  return [
    // As root nginx would switch its workers to "nobody", who cannot use our temp folder.
    ...(root ? ['user root;'] : []),
    `worker_processes ${workers};`,
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log stderr ${errorLevel};`,
    'events { worker_connections 8192; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, t)};`),
    // nginx closes a client connection after 1000 requests by default; HAProxy and handoff do not.
    '  keepalive_requests 1000000;',
    '  keepalive_timeout 60s;',
  ];
}

export function nginxConfig(dir: string, port: number, backendPort: number, workers: number): string {
  return [
    // notice: the "reconfiguring" line of each reload it carries out is how reloads are counted.
    ...nginxPreamble(dir, workers, 'notice'),
    '  upstream app {',
    `    server 127.0.0.1:${backendPort};`,
    '    keepalive 128;',
    '    keepalive_requests 1000000;',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    location / {',
    '      proxy_pass http://app;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

export async function startNginx(backendPort: number, workers = 2): Promise<ProxyUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-nginx-'));
  const port = await freePort();
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, nginxConfig(dir, port, backendPort, workers));
  const service = startService('nginx', NGINX_BIN, ['-p', dir, '-e', 'stderr', '-c', file, '-g', 'daemon off;'], {
    stopSignal: 'SIGTERM',
    countLines: { reloads: /\(SIGHUP\) received.*reconfiguring/ },
  });
  void service.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  await untilReady(service, () => waitForListen(port));
  return signalReloadedProxy(service, { label: `nginx (${workers} workers)`, kind: 'nginx', port, signal: 'SIGHUP' });
}
