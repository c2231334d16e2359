import net from 'node:net';

/**
 * The tests' one free-port helper: `count` distinct ports that were free a moment ago on
 * `host`, from the kernel (bind to 0). All are held until every one is picked, so two are
 * never the same; then released for the test to bind. Another process may take one in
 * between: test/e2e/support/proxy.ts retries a start that loses a port.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, host, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** One port that was free a moment ago (see freePorts). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Send raw bytes, then collect everything the peer sends until it closes the connection
 * (or timeoutMs passes, which rejects). For conformance tests that need the exact bytes.
 */
export function rawExchange(
  port: number,
  data: string | Buffer,
  opts: { host?: string; timeoutMs?: number; end?: boolean } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: opts.host ?? '127.0.0.1' });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        new Error(
          `no close from peer within ${opts.timeoutMs ?? 10_000} ms; got: ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`,
        ),
      );
    }, opts.timeoutMs ?? 10_000);
    s.on('connect', () => {
      s.write(data);
      if (opts.end) s.end();
    });
    s.on('data', (c) => chunks.push(c));
    s.on('error', (err) => {
      // A reset after the response still counts as an answer; the caller checks bytes.
      if (chunks.length === 0) {
        clearTimeout(timer);
        reject(err);
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** Resolves once `socket` can take more writes ('drain') or has closed. */
export function writable(socket: net.Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
