// The ClientHello parser (TLS passthrough by SNI): real hellos from Node's TLS client, the
// same re-cut into many records and every prefix of them, hand-built edge cases, and
// hostile input (garbage, oversized lengths, mutated bytes). It must never throw, never read
// past its input, and only say `hello` for a whole, well-formed message.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { CLIENT_HELLO_MAX_BYTES, parseClientHello } from '../../src/tls/client-hello.js';

/** The first flight of a real TLS client (Node/OpenSSL), captured by a plain TCP server on loopback. */
async function realHello(servername: string | undefined): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const got = new Promise<Buffer>((resolve) => {
      server.once('connection', (s) => {
        let buf = Buffer.alloc(0);
        s.on('data', (c: Buffer) => {
          buf = Buffer.concat([buf, c]);
          if (parseClientHello(buf).kind !== 'incomplete') {
            s.destroy();
            resolve(buf);
          }
        });
      });
    });
    const client = tls.connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
    client.on('error', () => {});
    const bytes = await got;
    client.destroy();
    return bytes;
  } finally {
    server.close();
  }
}

/** Handshake payload of a record stream (record headers removed). */
function payloadOf(records: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < records.length; ) {
    const len = records.readUInt16BE(at + 3);
    parts.push(records.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  return Buffer.concat(parts);
}

/** The same handshake bytes as records of the given payload sizes (the last takes the rest). */
function recut(payload: Buffer, size: (i: number) => number): Buffer {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < payload.length; i++) {
    const n = Math.min(size(i), payload.length - at);
    out.push(Buffer.from([0x16, 3, 1, n >> 8, n & 0xff]), payload.subarray(at, at + n));
    at += n;
  }
  return Buffer.concat(out);
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);

function sniExtension(names: [type: number, name: Buffer][]): Buffer {
  const list = Buffer.concat(names.map(([t, n]) => Buffer.concat([Buffer.from([t]), u16(n.length), n])));
  return Buffer.concat([u16(list.length), list]);
}

/** A ClientHello message (handshake header included) with these extensions (undefined: none at all). */
function hello(extensions: [type: number, body: Buffer][] | undefined, o: { sessionId?: number } = {}): Buffer {
  const sid = o.sessionId ?? 32;
  const parts = [
    Buffer.from([3, 3]),
    randomBytes(32),
    Buffer.from([sid]),
    Buffer.alloc(sid),
    u16(4),
    Buffer.from([0x13, 1, 0x13, 2]),
    Buffer.from([1, 0]),
  ];
  if (extensions) {
    const ext = Buffer.concat(extensions.map(([t, b]) => Buffer.concat([u16(t), u16(b.length), b])));
    parts.push(u16(ext.length), ext);
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([1]), u24(body.length), body]);
}

const record = (msg: Buffer) => recut(msg, () => 16384);
const withName = (name: string) =>
  record(
    hello([
      [0, sniExtension([[0, Buffer.from(name)]])],
      [0x2b, Buffer.from([2, 3, 4])],
    ]),
  );

describe('ClientHello parser', () => {
  it('reads the server_name of a real TLS client, and none when it sends none', async () => {
    const a = await realHello('a.example.com');
    assert.deepEqual(parseClientHello(a), { kind: 'hello', serverName: 'a.example.com' });
    const none = await realHello(undefined);
    assert.deepEqual(parseClientHello(none), { kind: 'hello', serverName: undefined });
  });

  it('every proper prefix of a real hello is incomplete, never a hello or an error', async () => {
    const a = await realHello('prefix.example');
    for (let n = 0; n < a.length; n++) assert.equal(parseClientHello(a.subarray(0, n)).kind, 'incomplete', `prefix of ${n} bytes`);
  });

  it('joins a hello spread over many records (1-byte records, header split across records)', async () => {
    const payload = payloadOf(await realHello('many.records.example'));
    for (const size of [1, 2, 3, 7, 100]) {
      const cut = recut(payload, () => size);
      assert.deepEqual(parseClientHello(cut), { kind: 'hello', serverName: 'many.records.example' }, `records of ${size}`);
      for (const n of [1, 5, 6, 9, cut.length - 1]) assert.equal(parseClientHello(cut.subarray(0, n)).kind, 'incomplete');
    }
    // Uneven records: 2 bytes (half the handshake header), then 3, then the rest.
    const uneven = recut(payload, (i) => [2, 3][i] ?? 16384);
    assert.deepEqual(parseClientHello(uneven), { kind: 'hello', serverName: 'many.records.example' });
  });

  it('bytes after the hello (early data, a next record) do not matter', () => {
    const h = withName('x.example');
    const more = Buffer.concat([h, Buffer.from([0x17, 3, 3, 0, 2, 9, 9])]);
    assert.deepEqual(parseClientHello(more), { kind: 'hello', serverName: 'x.example' });
  });

  it('lower-cases the name; refuses names that are not host names', () => {
    assert.deepEqual(parseClientHello(withName('A.Example.COM')), { kind: 'hello', serverName: 'a.example.com' });
    for (const bad of ['a.example.', '.a', 'a..b', 'a b', 'é.x', 'a/b', '-a.x', `${'a'.repeat(64)}.x`, '']) {
      const r = parseClientHello(withName(bad));
      assert.equal(r.kind, 'invalid', `name ${JSON.stringify(bad)}`);
    }
  });

  it('a hello without extensions (old clients) has no server name', () => {
    assert.deepEqual(parseClientHello(record(hello(undefined))), { kind: 'hello', serverName: undefined });
  });

  it('refuses malformed server_name extensions and duplicated extensions', () => {
    const cases: [string, [number, Buffer][]][] = [
      ['empty extension', [[0, Buffer.alloc(0)]]],
      [
        'two host names',
        [
          [
            0,
            sniExtension([
              [0, Buffer.from('a.x')],
              [0, Buffer.from('b.x')],
            ]),
          ],
        ],
      ],
      ['unknown name type', [[0, sniExtension([[1, Buffer.from('a.x')]])]]],
      ['list length too long', [[0, Buffer.concat([u16(50), Buffer.from([0]), u16(3), Buffer.from('a.x')])]]],
      ['name length past the list', [[0, Buffer.concat([u16(6), Buffer.from([0]), u16(9), Buffer.from('a.x')])]]],
      [
        'extension twice',
        [
          [0, sniExtension([[0, Buffer.from('a.x')]])],
          [0, sniExtension([[0, Buffer.from('b.x')]])],
        ],
      ],
    ];
    for (const [what, ext] of cases) assert.equal(parseClientHello(record(hello(ext))).kind, 'invalid', what);
  });

  it('refuses structural errors in the body', () => {
    const h = hello([[0, sniExtension([[0, Buffer.from('a.x')]])]]);
    const body = (mutate: (b: Buffer) => void) => {
      const copy = Buffer.from(h);
      mutate(copy);
      return parseClientHello(record(copy)).kind;
    };
    assert.equal(
      body((b) => (b[4] = 2)),
      'invalid',
      'client version major 2',
    );
    assert.equal(
      body((b) => (b[4 + 34] = 33)),
      'invalid',
      'session id of 33 bytes',
    );
    assert.equal(parseClientHello(record(hello([], { sessionId: 0 }))).kind, 'hello', 'empty extension block');
    // Extensions length one byte more than there is.
    const extAt = 4 + 2 + 32 + 1 + 32 + 2 + 4 + 2;
    assert.equal(
      body((b) => b.writeUInt16BE(b.readUInt16BE(extAt) + 1, extAt)),
      'invalid',
      'extensions length',
    );
    assert.equal(
      body((b) => (b[0] = 2)),
      'invalid',
      'a ServerHello instead',
    );
  });

  it('refuses what is not TLS at the first byte: plain HTTP, SSLv2, an alert', () => {
    assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).kind, 'invalid');
    assert.equal(parseClientHello(Buffer.from('G')).kind, 'invalid');
    assert.equal(parseClientHello(Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01])).kind, 'invalid');
    assert.equal(parseClientHello(Buffer.from([0x15, 3, 3, 0, 2, 2, 40])).kind, 'invalid');
    assert.equal(parseClientHello(Buffer.from([0x16, 2])).kind, 'invalid', 'record major 2');
    assert.equal(parseClientHello(Buffer.from([0x16, 3, 9, 0, 1])).kind, 'invalid', 'record minor 9');
    assert.equal(parseClientHello(Buffer.from([0x16, 3, 1, 0, 0])).kind, 'invalid', 'empty record');
    // A different record type in the middle of a split hello.
    const payload = payloadOf(withName('a.x'));
    const first = recut(payload.subarray(0, 10), () => 10);
    assert.equal(parseClientHello(Buffer.concat([first, Buffer.from([0x17, 3, 3, 0, 1, 0])])).kind, 'invalid');
  });

  it('refuses oversized lengths from the header alone, without waiting for the bytes', () => {
    assert.equal(parseClientHello(Buffer.from([0x16, 3, 1, 0x40, 0x01])).kind, 'invalid', 'record over 16384');
    const big = Buffer.from([0x16, 3, 1, 0x40, 0x00, 1, 0x00, 0x40, 0x01]); // message of 16385 bytes
    assert.equal(parseClientHello(big).kind, 'invalid');
    const huge = Buffer.from([0x16, 3, 1, 0x00, 0x04, 1, 0xff, 0xff, 0xff]);
    assert.equal(parseClientHello(huge).kind, 'invalid');
    // Within the bound: still incomplete.
    assert.equal(parseClientHello(Buffer.from([0x16, 3, 1, 0x40, 0x00, 1, 0x00, 0x3f, 0xfc])).kind, 'incomplete');
    assert.equal(CLIENT_HELLO_MAX_BYTES, 16384);
    // Many small records whose payload passes the bound.
    const payload = Buffer.concat([Buffer.from([1]), u24(16000), Buffer.alloc(16000)]);
    assert.equal(
      parseClientHello(
        recut(payload, () => 100),
        8192,
      ).kind,
      'invalid',
    );
  });

  it('garbage and mutated hellos: never throws, always one of the three answers', async () => {
    const real = await realHello('fuzz.example');
    const kinds = new Set(['incomplete', 'hello', 'invalid']);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(real);
      const flips = 1 + (i % 4);
      for (let f = 0; f < flips; f++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      const r = parseClientHello(b.subarray(0, Math.floor(Math.random() * (b.length + 1))));
      assert.ok(kinds.has(r.kind));
      if (r.kind === 'hello' && r.serverName !== undefined) assert.match(r.serverName, /^[a-z0-9_.-]+$/);
    }
    for (let i = 0; i < 2000; i++) {
      const g = randomBytes(1 + (i % 300));
      if (i % 2 === 0) g[0] = 0x16;
      if (i % 4 === 0 && g.length > 1) g[1] = 3;
      assert.ok(kinds.has(parseClientHello(g).kind));
    }
    assert.equal(
      parseClientHello(
        randomBytes(1 << 20)
          .fill(0x16, 0, 1)
          .fill(3, 1, 2),
      ).kind !== 'hello',
      true,
    );
  });
});
