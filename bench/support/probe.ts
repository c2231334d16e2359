// A proxy that accepts connections may still be wiring its workers: before measuring,
// wait until a request through it really gets 200.
import { KeepAliveClient } from './keep-alive-client.js';
import { delay } from './ports.js';

export async function waitForOk(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    try {
      const c = await KeepAliveClient.open(port);
      const o = await c.request('/', 3_000);
      c.destroy();
      if (o.ok) return;
      last = o.failure === 'status' ? `status ${o.status}` : (o.failure ?? 'failure');
    } catch (err) {
      last = (err as Error).message;
    }
    await delay(50);
  }
  throw new Error(`no 200 from 127.0.0.1:${port} within ${timeoutMs} ms (last: ${last})`);
}
