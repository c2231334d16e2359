// A realistic backend: nginx (1 worker) serving a static 1 KiB page over keep-alive. The
// reload benchmark puts it behind handoff so that a request costs what it costs in front
// of a real server, not only the proxy's share (the fast backend measures that).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendProcess } from './fast-backend-process.js';
import { NGINX_BIN, nginxPreamble } from './nginx-proxy.js';
import { freePort, waitForListen } from './ports.js';
import { startService, untilReady } from './service-process.js';

const PAGE = `<!doctype html>\n<title>bench</title>\n<p>${'handoff bench page. '.repeat(48)}</p>\n`;

export function nginxBackendConfig(dir: string, port: number): string {
  return [
    ...nginxPreamble(dir, 1, 'warn'),
    '  server {',
    `    listen 127.0.0.1:${port} backlog=4096;`,
    `    root ${join(dir, 'www')};`,
    '    location / { index index.html; }',
    '  }',
    '}',
    '',
  ].join('\n');
}

export async function startNginxBackend(): Promise<BackendProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-nginx-backend-'));
  mkdirSync(join(dir, 'www'));
  writeFileSync(join(dir, 'www', 'index.html'), PAGE);
  const port = await freePort();
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, nginxBackendConfig(dir, port));
  const service = startService('nginx-backend', NGINX_BIN, ['-p', dir, '-e', 'stderr', '-c', file, '-g', 'daemon off;'], {
    stopSignal: 'SIGTERM',
  });
  void service.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  await untilReady(service, () => waitForListen(port));
  return { label: 'nginx static (1 worker, 1 KiB page)', port, pid: service.pid, service, stop: () => service.stop('SIGTERM') };
}
