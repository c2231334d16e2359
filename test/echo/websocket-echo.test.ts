import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { rawExchange } from '../helpers/net.js';
import { stopAll } from '../helpers/processes.js';

interface Message {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

function open(url: string): Promise<{ ws: WebSocket; response: IncomingMessage; messages: Message[]; next(): Promise<Message> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: Message[] = [];
    const waiters: Array<() => void> = [];
    let response: IncomingMessage | undefined;
    ws.on('upgrade', (res) => (response = res));
    ws.on('message', (data, isBinary) => {
      messages.push({ data: data as Buffer, isBinary });
      waiters.shift()?.();
    });
    ws.once('error', reject);
    let taken = 0;
    const next = () =>
      new Promise<Message>((res, rej) => {
        const take = () => res(messages[taken++]!);
        if (messages.length > taken) return take();
        const timer = setTimeout(() => rej(new Error('no message within 15 s')), 15_000);
        waiters.push(() => {
          clearTimeout(timer);
          take();
        });
      });
    ws.once('open', () => resolve({ ws, response: response!, messages, next }));
  });
}

describe('handoff echo (WebSocket)', () => {
  let echo: EchoBackend;
  before(async () => {
    echo = await startEcho('ws-alpha');
  });
  after(() => stopAll());

  it('accepts an upgrade on any path, with X-Server on the 101', async () => {
    const { ws, response } = await open(`ws://127.0.0.1:${echo.port}/any/path?q=1`);
    assert.equal(response.statusCode, 101);
    assert.equal(response.headers['x-server'], 'ws-alpha');
    ws.close();
  });

  it('echoes text as text and binary as binary, and sends nothing else', async () => {
    const { ws, messages, next } = await open(`ws://127.0.0.1:${echo.port}/`);
    try {
      ws.send('héllo wörld');
      const text = await next();
      assert.equal(text.isBinary, false);
      assert.equal(text.data.toString('utf8'), 'héllo wörld');

      const small = randomBytes(1000);
      ws.send(small);
      const binary = await next();
      assert.equal(binary.isBinary, true);
      assert.ok(binary.data.equals(small));

      const large = randomBytes(4 * 1024 * 1024);
      ws.send(large);
      const echoed = await next();
      assert.equal(echoed.isBinary, true);
      assert.ok(echoed.data.equals(large));

      assert.equal(messages.length, 3, 'exactly one message back per message sent');
    } finally {
      ws.close();
    }
  });

  it('echoes many messages in order', async () => {
    const { ws, next } = await open(`ws://127.0.0.1:${echo.port}/many`);
    try {
      for (let i = 0; i < 200; i++) ws.send(`message ${i}`);
      for (let i = 0; i < 200; i++) assert.equal((await next()).data.toString(), `message ${i}`);
    } finally {
      ws.close();
    }
  });

  it('completes the close handshake the client starts', async () => {
    const { ws } = await open(`ws://127.0.0.1:${echo.port}/`);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.close(4000, 'bye');
    assert.equal(await closed, 4000);
  });

  it('refuses a non-WebSocket upgrade with 400', async () => {
    const raw = (await rawExchange(echo.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')).toString(
      'latin1',
    );
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.match(raw, /\r\nX-Server: ws-alpha\r\n/);
  });
});
