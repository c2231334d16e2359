// Bodies stream through handoff with back-pressure: 256 MiB up and 256 MiB down pass
// byte-exact while the worker's resident memory stays bounded (sampled from
// /proc/PID/status during the transfer).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { startEcho } from '../helpers/echo.js';
import { workerPids } from '../helpers/handoff.js';
import { stopAll } from '../helpers/processes.js';
import { PATTERN } from '../../src/echo/pattern-body.js';
import { startProxy } from './support/proxy.js';

const SIZE = 256 * 1024 * 1024;
/** The worker's RSS must stay below this during a transfer (its baseline is about 50 MB). */
const RSS_LIMIT = 200 * 1024 * 1024;
/** 64 KiB of the pattern: byte i is PATTERN[i % 16], so consecutive chunks continue it. */
const CHUNK = Buffer.from(PATTERN.repeat(4096), 'latin1');

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Samples a process's RSS every 50 ms until stopped; returns the highest value seen. */
function sampleRss(pid: number): { stop(): { max: number; samples: number } } {
  let max = rssBytes(pid);
  let samples = 1;
  const timer = setInterval(() => {
    max = Math.max(max, rssBytes(pid));
    samples++;
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      max = Math.max(max, rssBytes(pid));
      return { max, samples: samples + 1 };
    },
  };
}

describe('streaming through handoff in bounded memory', () => {
  let port: number;
  let worker: number;

  before(async () => {
    const echo = await startEcho('echo');
    const { h, ports } = await startProxy(
      1,
      ([port]) => `
workers: 1
log: { access: off }
frontends:
  web:
    bind: 127.0.0.1:${port}
    default_backend: echo
backends:
  echo: { servers: [ { name: e1, address: ${echo.address} } ] }
`,
    );
    port = ports[0]!;
    worker = workerPids(await h.status())[0]!;
  });
  after(() => stopAll());

  it('256 MiB upload: counted and hashed right by the server, worker RSS bounded', async () => {
    const rss = sampleRss(worker);
    const hash = createHash('sha256');
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/count',
          headers: { 'content-length': SIZE, 'content-type': 'application/octet-stream' },
          agent: false,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error('upload did not finish within 60 s')));
      req.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < SIZE) {
          sent += CHUNK.length;
          hash.update(CHUNK);
          if (!req.write(CHUNK)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    const { max, samples } = rss.stop();
    if (process.env.TEST_VERBOSE) console.log(`upload: worker max RSS ${(max / 1048576).toFixed(0)} MB over ${samples} samples`);
    assert.equal(reply.status, 200);
    const j = JSON.parse(reply.body) as { bodyBytes: number; bodySha256: string };
    assert.equal(j.bodyBytes, SIZE);
    assert.equal(j.bodySha256, hash.digest('hex'));
    assert.ok(samples > 1);
    assert.ok(max < RSS_LIMIT, `worker RSS reached ${(max / 1048576).toFixed(0)} MB`);
  });

  it('256 MiB download: every byte right, worker RSS bounded', async () => {
    const rss = sampleRss(worker);
    const result = await new Promise<{ status: number; length: number; mismatchAt: number }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: `/?bytes=${SIZE}`, agent: false }, (res) => {
        let length = 0;
        let mismatchAt = -1;
        res.on('data', (c: Buffer) => {
          // Compare against the pattern at this offset (memcmp, no hashing needed).
          if (mismatchAt < 0) {
            let i = 0;
            while (i < c.length) {
              const at = (length + i) % CHUNK.length;
              const n = Math.min(c.length - i, CHUNK.length - at);
              if (c.compare(CHUNK, at, at + n, i, i + n) !== 0) {
                mismatchAt = length + i;
                break;
              }
              i += n;
            }
          }
          length += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, length, mismatchAt }));
        res.on('error', reject);
      });
      req.setTimeout(60_000, () => req.destroy(new Error('download did not finish within 60 s')));
      req.on('error', reject);
    });
    const { max } = rss.stop();
    assert.equal(result.status, 200);
    assert.equal(result.length, SIZE);
    assert.equal(result.mismatchAt, -1, `first wrong byte at ${result.mismatchAt}`);
    assert.ok(max < RSS_LIMIT, `worker RSS reached ${(max / 1048576).toFixed(0)} MB`);
  });

  it('64 MiB both ways at once through /echo (upload streamed back while it is sent)', async () => {
    const total = 64 * 1024 * 1024;
    const rss = sampleRss(worker);
    const result = await new Promise<{ status: number; length: number; mismatchAt: number }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/echo', headers: { 'content-length': total }, agent: false },
        (res) => {
          let length = 0;
          let mismatchAt = -1;
          res.on('data', (c: Buffer) => {
            if (mismatchAt < 0) {
              for (let i = 0; i < c.length; ) {
                const at = (length + i) % CHUNK.length;
                const n = Math.min(c.length - i, CHUNK.length - at);
                if (c.compare(CHUNK, at, at + n, i, i + n) !== 0) {
                  mismatchAt = length + i;
                  break;
                }
                i += n;
              }
            }
            length += c.length;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, length, mismatchAt }));
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error('echo did not finish within 60 s')));
      req.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += CHUNK.length;
          if (!req.write(CHUNK)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    const { max } = rss.stop();
    assert.equal(result.status, 200);
    assert.equal(result.length, total);
    assert.equal(result.mismatchAt, -1);
    assert.ok(max < RSS_LIMIT, `worker RSS reached ${(max / 1048576).toFixed(0)} MB`);
  });
});
