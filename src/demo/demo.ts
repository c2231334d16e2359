// The built-in demo (`handoff start` without -f): four `handoff echo` backends, and a
// config written to a folder of its own (private: see private-dir.ts) so the user can edit
// it and reload. The backends are forked with an IPC channel: they exit when the demo's process goes away,
// however it goes.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoDir } from '../config/control-path.js';
import { ensurePrivateDir, writeFileNoFollow } from './private-dir.js';

const ENTRY = fileURLToPath(new URL('../cli/entry.js', import.meta.url));

export interface Demo {
  readonly configFile: string;
  readonly ports: { readonly web: number; readonly tcp: number; readonly stats: number };
  /** Lines to print: what to try. */
  readonly help: string;
  stop(): Promise<void>;
}

function startBackend(name: string, tcp: boolean): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(ENTRY, ['echo', '--port', '0', '--name', name, ...(tcp ? ['--tcp'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`demo backend ${name} did not start`)), 10_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on \S+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo backend ${name} exited (${code})`));
    });
  });
}

export async function startDemo(webPort = 8080): Promise<Demo> {
  // First, before anything starts: the folder must be ours (private-dir.ts).
  const dir = demoDir();
  ensurePrivateDir(dir);
  const names: [string, boolean][] = [
    ['app-1', false],
    ['app-2', false],
    ['api-1', false],
    ['tcp-1', true],
  ];
  const started = await Promise.allSettled(names.map(([n, tcp]) => startBackend(n, tcp)));
  const backends = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    for (const b of backends) b.child.kill();
    throw (failed as PromiseRejectedResult).reason;
  }
  const [app1, app2, api1, tcp1] = backends.map((b) => b.port);
  const ports = { web: webPort, tcp: webPort + 1, stats: webPort === 8080 ? 8404 : webPort + 2 };
  const configFile = join(dir, 'handoff.yaml');
  writeFileNoFollow(
    configFile,
    `# The built-in demo of handoff. Edit this file and run \`handoff reload\`: no client notices.
workers: 2
control: ./handoff.sock
drain: { timeout: 10s }
stats: { bind: 127.0.0.1:${ports.stats} }
frontends:
  web:
    bind: 127.0.0.1:${ports.web}
    routes:
      - { host: api.localhost, backend: api }
      - { host: ["app.localhost", "*.app.localhost"], backend: app }
    default_backend: app
    headers:
      response:
        set: { X-Handoff-Generation: "\${generation}", X-Handoff-Server: "\${server}" }
  echo-tcp:
    bind: 127.0.0.1:${ports.tcp}
    mode: tcp
    default_backend: tcp-echo
backends:
  app:
    balance: roundrobin
    health: { type: http, path: /healthz, interval: 2s }
    servers:
      - { name: app-1, address: 127.0.0.1:${app1} }
      - { name: app-2, address: 127.0.0.1:${app2} }
  api:
    servers:
      - { name: api-1, address: 127.0.0.1:${api1} }
  tcp-echo:
    servers:
      - { name: tcp-1, address: 127.0.0.1:${tcp1} }
`,
  );
  const help = `handoff demo: HTTP on 127.0.0.1:${ports.web}, TCP echo on 127.0.0.1:${ports.tcp}, stats on http://127.0.0.1:${ports.stats}/
Try, in another terminal:
  curl -i http://127.0.0.1:${ports.web}/                            # app: app-1 and app-2 in turn
  curl -i -H 'Host: api.localhost' http://127.0.0.1:${ports.web}/   # api: api-1
  curl -i http://app.localhost:${ports.web}/hello                   # *.localhost resolves to loopback
  bash -c 'exec 3<>/dev/tcp/127.0.0.1/${ports.tcp}; echo hello >&3; head -1 <&3'   # TCP echo through handoff
  npx handoff status                                                   # generations, workers, listeners
  npx handoff reload                                                   # applies an edited config live; no client notices
The config is ${configFile}: edit it, then reload. Ctrl-C stops (gracefully).`;
  return {
    configFile,
    ports,
    help,
    async stop() {
      await Promise.all(
        backends.map(
          (b) =>
            new Promise<void>((resolve) => {
              if (b.child.exitCode !== null || b.child.signalCode !== null) return resolve();
              b.child.once('exit', () => resolve());
              b.child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
