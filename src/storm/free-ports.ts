// Ports for ${port.NAME}: free on 127.0.0.1 and on ::1 alike (a template may bind either),
// picked by binding port 0. Another program may take one before the target binds it; the
// start then fails with the target's own bind error, which storm shows.
import net from 'node:net';

function bindable(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT' ? port : undefined),
    );
    srv.listen({ port, host, exclusive: true }, () => {
      const bound = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(bound));
    });
  });
}

/** A port free on both loopback addresses (IPv6 missing counts as free); bounded tries. */
export async function freeLoopbackPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await bindable(0, '127.0.0.1');
    if (port === undefined) continue;
    if ((await bindable(port, '::1')) !== undefined) return port;
  }
  throw new Error('no free loopback port found in 20 tries');
}
