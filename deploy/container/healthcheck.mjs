#!/usr/bin/env node
// The container HEALTHCHECK (no curl in node:*-slim): GET $HANDOFF_HEALTH_URL (default
// http://127.0.0.1:8404/ready, the stats listener's readiness: 200 while serving, 503 once
// a stop begins). Exit 0 on a 2xx answer, 1 on anything else, on a refused connection or
// after 2 s without an answer.
import http from 'node:http';

const url = process.env.HANDOFF_HEALTH_URL || 'http://127.0.0.1:8404/ready';
const TIMEOUT_MS = 2000;

const fail = (why) => {
  console.error(`handoff healthcheck: ${url}: ${why}`);
  process.exit(1);
};

const req = http.get(url, { timeout: TIMEOUT_MS, headers: { connection: 'close' } }, (res) => {
  res.resume();
  const ok = res.statusCode >= 200 && res.statusCode < 300;
  if (!ok) fail(`status ${res.statusCode}`);
  process.exit(0);
});
req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
req.on('error', (err) => fail(err.message));
