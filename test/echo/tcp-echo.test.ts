import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Exchange {
  readonly received: Buffer;
  /** The server ended its side (FIN) rather than resetting. */
  readonly serverEnded: boolean;
}

/** Connect, let send() write, and collect until the server closes. */
function exchange(port: number, send: (socket: net.Socket) => Promise<void> | void): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let serverEnded = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server did not close within 30 s'));
    }, 30_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => (serverEnded = true));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), serverEnded });
    });
    socket.once('connect', () => void Promise.resolve(send(socket)).catch(reject));
  });
}

describe('handoff echo --tcp', () => {
  let echo: EchoBackend;
  before(async () => {
    echo = await startEcho('tcp-alpha', { tcp: true });
  });
  after(() => stopAll());

  it('echoes every byte, and ends after the client ends (half-close)', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    const result = await exchange(echo.port, (socket) => {
      socket.end(data);
    });
    assert.equal(result.serverEnded, true, 'the server ended its side with a FIN');
    assert.equal(result.received.length, data.length);
    assert.equal(sha256(result.received), sha256(data));
  });

  it('keeps echoing while the client is still sending', async () => {
    const parts = ['one ', 'two ', 'three'];
    let got = '';
    const result = await exchange(echo.port, async (socket) => {
      socket.on('data', (c: Buffer) => (got += c.toString()));
      let expected = '';
      for (const part of parts) {
        socket.write(part);
        expected += part;
        await waitUntil(`echo of ${JSON.stringify(expected)}`, () => got === expected, 10_000);
      }
      socket.end();
    });
    assert.equal(result.received.toString(), parts.join(''));
    assert.equal(result.serverEnded, true);
  });

  it('loses nothing when the client reads slowly (back-pressure)', async () => {
    const data = randomBytes(16 * 1024 * 1024);
    const result = await exchange(echo.port, async (socket) => {
      socket.pause();
      socket.end(data);
      // The server has read a good part while nothing was read back: its writes are queued.
      await waitUntil('the server to take some bytes', () => socket.bytesWritten > 1024 * 1024, 15_000);
      socket.resume();
    });
    assert.equal(result.received.length, data.length);
    assert.equal(sha256(result.received), sha256(data));
  });
});
