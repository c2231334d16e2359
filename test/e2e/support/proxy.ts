// Start a real handoff on ports nobody else holds. Ports are picked together (so two of
// them are never the same), and a start that loses a port to another process between the
// pick and the bind is retried with new ports: other test files run beside this one.
import net from 'node:net';
import { startHandoff, type RunningHandoff } from '../../helpers/handoff.js';

/** `count` distinct ports that were free a moment ago on 127.0.0.1 (and ::1). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** `yaml(ports)` builds the config from `count` fresh ports; up to 3 attempts on a bind error. */
export async function startProxy(count: number, yaml: (ports: number[]) => string): Promise<{ h: RunningHandoff; ports: number[] }> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(count);
    try {
      return { h: await startHandoff(yaml(ports)), ports };
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE|cannot bind/.test(String(err))) throw err;
    }
  }
}
