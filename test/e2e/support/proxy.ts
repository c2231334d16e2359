// Start a real handoff on ports nobody else holds. Ports are picked together (so two of
// them are never the same), and a start that loses a port to another process between the
// pick and the bind is retried with new ports: other test files run beside this one.
import { startHandoff, type RunningHandoff } from '../../helpers/handoff.js';
import { freePorts } from '../../helpers/net.js';

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
