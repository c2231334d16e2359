import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answeringBackend, BadResponse, ResponseReader } from '../../src/storm/http-response-reader.js';

const feedAll = (r: ResponseReader, text: string, step = 3) => {
  const b = Buffer.from(text, 'latin1');
  let res: ReturnType<typeof r.feed> | undefined;
  for (let i = 0; i < b.length && !res; i += step) res = r.feed(b.subarray(i, i + step));
  return res;
};

test('content-length, fed a few bytes at a time; X-Server names the backend', () => {
  const res = feedAll(new ResponseReader(), 'HTTP/1.1 200 OK\r\nX-Server: a\r\nContent-Length: 5\r\n\r\nhello');
  assert.ok(res);
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'hello');
  assert.equal(res.keepAlive, true);
  assert.equal(answeringBackend(res), 'a');
});

test('chunked with extensions and trailers; the JSON "server" field when there is no header', () => {
  const body = '{"server":"b"}';
  const text = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n${body.slice(0, 4)}\r\n${(body.length - 4).toString(16)}\r\n${body.slice(4)}\r\n0\r\nX-T: 1\r\n\r\n`;
  const res = feedAll(new ResponseReader(), text, 5);
  assert.ok(res);
  assert.equal(res.body.toString(), body);
  assert.equal(answeringBackend(res), 'b');
});

test('Connection: close, HTTP/1.0, and a body until EOF', () => {
  const r = new ResponseReader();
  assert.equal(r.feed(Buffer.from('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'))?.keepAlive, false);
  const eof = new ResponseReader();
  assert.equal(eof.feed(Buffer.from('HTTP/1.0 200 OK\r\n\r\npartial')), undefined);
  const res = eof.end();
  assert.equal(res?.body.toString(), 'partial');
  assert.equal(res?.keepAlive, false);
});

test('an incomplete response at EOF is not a response; 100 Continue is skipped; 101 keeps the bytes after it', () => {
  const r = new ResponseReader();
  assert.equal(r.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')), undefined);
  assert.equal(r.end(), undefined);
  assert.equal(r.received, 42);
  assert.equal(new ResponseReader().feed(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'))?.status, 204);
  const ws = new ResponseReader();
  assert.equal(ws.feed(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi', 'latin1'))?.status, 101);
  assert.deepEqual([...ws.leftover()], [0x81, 0x02, 0x68, 0x69]);
});

test('garbage is a BadResponse', () => {
  assert.throws(() => new ResponseReader().feed(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')), BadResponse);
  assert.throws(() => new ResponseReader().feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n')), BadResponse);
});
