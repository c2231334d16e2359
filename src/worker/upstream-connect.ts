// Open a TCP connection to a server, bounded by the connect timeout. Shared by TCP-mode
// frontends and the HTTP upstream pools.
import net from 'node:net';
import type { SocketAddress } from '../config/types.js';
import { HandoffError, systemCode } from '../lib/errors.js';

export function connectTo(address: SocketAddress, timeoutMs: number): Promise<net.Socket> {
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
