// `handoff echo --tcp`: every byte goes back unchanged. The server is created with
// allowHalfOpen, so when the client ends its side, pipe() ends ours only after
// everything read has been written back; pipe() also pauses reading while the
// write side is full (back-pressure).
import type { Socket } from 'node:net';

export function echoTcp(socket: Socket): void {
  socket.setNoDelay(true);
  // A reset from the peer is normal for a test backend; never let it crash the process.
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
}
