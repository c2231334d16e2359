// An HTTP backend that holds requests to /slow until the test releases them (no sleeping:
// a request stays in flight exactly as long as the test needs); other paths answer at once.
import http from 'node:http';
import type net from 'node:net';

export interface HoldingBackend {
  readonly port: number;
  readonly address: string;
  /** Requests to /slow received so far. */
  arrived(): number;
  /** Answer every held request (and any later one) with 200. */
  release(): void;
  close(): Promise<void>;
}

export async function startHoldingBackend(): Promise<HoldingBackend> {
  let arrived = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = http.createServer((req, res) => {
    if (req.url === '/slow') {
      arrived++;
      void released.then(() => res.end('slow done\n'));
    } else {
      res.end('ok\n');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    arrived: () => arrived,
    release,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
