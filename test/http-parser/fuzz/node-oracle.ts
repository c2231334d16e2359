// The independent reader: Node's own HTTP server (llhttp, strict: insecureHTTPParser off) on
// loopback. Each stream is written on a new connection, which is then half-closed; the
// oracle reports the requests llhttp saw on it, in order.
import http from 'node:http';
import net from 'node:net';

export interface OracleReading {
  readonly requests: { method: string; url: string }[];
  readonly error: string | undefined;
}

export class NodeOracle {
  private server!: http.Server;
  private port = 0;
  private readonly byPort = new Map<number, { requests: { method: string; url: string }[]; error?: string }>();

  async start(): Promise<void> {
    this.server = http.createServer({ insecureHTTPParser: false }, (req, res) => {
      this.byPort.get(req.socket.remotePort!)?.requests.push({ method: req.method!, url: req.url! });
      req.resume();
      res.end();
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      const seen = this.byPort.get(socket.remotePort!);
      if (seen) seen.error = err.code ?? err.message;
      socket.destroy();
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  read(bytes: Buffer): Promise<OracleReading> {
    return new Promise((resolve, reject) => {
      const s = net.connect(this.port, '127.0.0.1');
      const timer = setTimeout(() => s.destroy(new Error('oracle: no close within 5 s')), 5_000);
      let port = 0;
      s.on('connect', () => {
        port = s.localPort!;
        this.byPort.set(port, { requests: [] });
        s.end(bytes);
      });
      s.on('data', () => {});
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(timer);
        const seen = this.byPort.get(port);
        this.byPort.delete(port);
        if (!seen) return reject(new Error('oracle: connection not seen'));
        // The server may still be finishing: its events for this socket have fired by the time the client sees the close.
        resolve({ requests: seen.requests, error: (seen as { error?: string }).error });
      });
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
