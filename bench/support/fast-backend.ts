// The throughput backend: a raw net.Server that answers every request head with the same
// small HTTP/1.1 keep-alive response. Node's http module would be the bottleneck of the
// benchmark; this costs a few µs per request, so the numbers measure the proxy.
// Only GET/HEAD-style requests without a body are expected (that is all the benchmarks send).
//   node dist/bench/support/fast-backend.js [port]     prints "fast-backend listening on PORT"
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const FAST_BACKEND_SCRIPT = fileURLToPath(import.meta.url);

const BODY = 'hello, world\n';
const RESPONSE = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`, 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

function serve(socket: net.Socket): void {
  socket.setNoDelay(true);
  // The last 3 bytes of the previous chunk, so a head end split across chunks is found.
  let carry: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let heads = 0;
    for (let at = data.indexOf(HEAD_END); at !== -1; at = data.indexOf(HEAD_END, at + 4)) heads++;
    // Keep what follows the last head end, up to 3 bytes (a head end needs 4).
    const lastEnd = data.lastIndexOf(HEAD_END);
    const tailStart = Math.max(lastEnd === -1 ? 0 : lastEnd + 4, data.length - 3);
    carry = Buffer.from(data.subarray(tailStart));
    if (heads === 1) socket.write(RESPONSE);
    else if (heads > 1) socket.write(Buffer.concat(Array<Buffer>(heads).fill(RESPONSE)));
  });
  socket.on('error', () => socket.destroy());
}

function main(): void {
  const port = Number(process.argv[2] ?? 0);
  const server = net.createServer({ noDelay: true }, serve);
  server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
    console.log(`fast-backend listening on ${(server.address() as net.AddressInfo).port}`);
  });
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}

if (process.argv[1] === FAST_BACKEND_SCRIPT) main();
