// Open a TCP connection to a server, bounded by the connect timeout. Shared by TCP-mode
// frontends and the HTTP upstream pools.
import net from 'node:net';
import type { SocketAddress } from '../config/types.js';
import { HandoffError, systemCode } from '../lib/errors.js';
import type { UpstreamTls } from '../config/types.js';
import { startUpstreamTls } from '../tls/backend-tls.js';

/** `tls`: the server's TLS settings; the handshake shares the connect timeout (src/tls/backend-tls.ts). */
export function connectTo(address: SocketAddress, timeoutMs: number, tls?: UpstreamTls): Promise<net.Socket> {
  if (!tls) return connectTcp(address, timeoutMs);
  const started = Date.now();
  return connectTcp(address, timeoutMs).then((socket) => startUpstreamTls(socket, address, tls, timeoutMs - (Date.now() - started)));
}

function connectTcp(address: SocketAddress, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port, family: address.family, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new HandoffError('HANDOFF_ERR_CONNECT_TIMEOUT', 'server', `connect to ${address.key}: timeout after ${timeoutMs}ms`, {
          retryable: true,
        }),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new HandoffError('HANDOFF_ERR_CONNECT', 'server', `connect to ${address.key}: ${systemCode(err) ?? err.message}`, {
          retryable: true,
          cause: err,
        }),
      );
    };
    socket.once('error', onError);
  });
}
