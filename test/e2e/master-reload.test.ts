// Reloads that must fail cleanly (I5: a bad config or a failed start never replaces a good
// one) and reloads that must coalesce.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { controlRequest } from '../../src/protocol/control-client.js';
import { startEcho, type EchoBackend } from '../helpers/echo.js';
import { startHandoff, type RunningHandoff } from '../helpers/handoff.js';
import { request, servedBy } from '../helpers/http-client.js';
import { freePort } from '../helpers/net.js';
import { listenInodes, workersOf } from '../helpers/proc.js';
import { stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

let a: EchoBackend;
let b: EchoBackend;
let port: number;
let h: RunningHandoff;

const config = (extraFrontend = '', backend = 'a') => `workers: 1
drain: { timeout: 2s }
log: { access: off }
frontends:
  web:
    bind: 127.0.0.1:${port}
    default_backend: ${backend}
${extraFrontend}backends:
  a:
    servers: [ { name: a, address: ${a.address} } ]
  b:
    servers: [ { name: b, address: ${b.address} } ]
`;

before(async () => {
  [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
  port = await freePort();
  h = await startHandoff(config(), { env: { HANDOFF_FAULT_CRASH_GENERATION: '3' } });
});
after(() => stopAll());

async function activeGeneration(): Promise<number> {
  const s = await h.status();
  return s.generations.find((g) => g.state === 'active')!.number;
}

test('an invalid config: reload exits non-zero naming file:line:col; traffic and status unchanged', async () => {
  const gen = await activeGeneration();
  const before = listenInodes(port);
  const r = await h.reload(
    config().replace('default_backend: a', 'default_backend: nope').replace('drain: { timeout: 2s }', 'drain: { timeout: 2 }'),
  );
  assert.equal(r.code, 1);
  // The config file starts with the `control:` line the helper adds: the drain line is line 3.
  assert.match(r.stderr, new RegExp(`${h.configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+: drain.timeout: .*duration`));
  assert.match(r.stderr, /default_backend.*nope/);
  assert.equal(await activeGeneration(), gen, 'no new generation');
  assert.deepEqual(listenInodes(port), before);
  const res = await request(port, '/');
  assert.equal(servedBy(res), 'a', 'still served by the old config');
  const status = await h.status();
  assert.equal(status.reloads.at(-1)?.outcome, 'failed');
  await h.reload(config(), { restart: true }); // back to a valid file, new processes (generation 2)
});

test('a bind conflict: the reload aborts, nothing changes, the error names the address', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const taken = (blocker.address() as net.AddressInfo).port;
  try {
    const gen = await activeGeneration();
    const extra = `  other:\n    bind: 127.0.0.1:${taken}\n    default_backend: b\n`;
    const r = await h.reload(config(extra));
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${taken}: EADDRINUSE`));
    assert.equal(await activeGeneration(), gen);
    assert.equal(servedBy(await request(port, '/')), 'a');
  } finally {
    blocker.close();
  }
});

test('a new generation whose workers crash at start: the reload fails cleanly, the old one keeps serving', async () => {
  // Generation 3 is set to crash (HANDOFF_FAULT_CRASH_GENERATION=3).
  const before = await activeGeneration();
  assert.equal(before, 2);
  const r = await h.reload(config('', 'b'), { restart: true });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /generation 3 did not start/);
  assert.equal(await activeGeneration(), 2);
  assert.equal(servedBy(await request(port, '/')), 'a', 'the old generation keeps serving the old config');
  await waitUntil('the crashed workers are gone', () => workersOf(h.proc.pid).every((w) => w.generation === 2));
  // The next reload works (generation 4) and routes by the new config.
  const ok = await h.reload(config('', 'b'), { restart: true });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /reloaded \(process\): generation 4 in force/);
  assert.equal(servedBy(await request(port, '/')), 'b');
});

test('100 reload requests at once: coalesced into a few runs, all answered, one generation active', async () => {
  const before = await activeGeneration();
  const answers = await Promise.all(Array.from({ length: 100 }, () => controlRequest(h.control, { type: 'reload', restart: true })));
  assert.ok(
    answers.every((x) => x.ok),
    JSON.stringify(answers.find((x) => !x.ok)),
  );
  const gens = new Set(answers.map((x) => (x.ok && x.type === 'reload' ? x.generation : -1)));
  const runs = (await activeGeneration()) - before;
  assert.ok(runs >= 1 && runs <= 3, `100 requests became ${runs} reload runs`);
  assert.ok(gens.size <= runs);
  await waitUntil('one generation left', () => new Set(workersOf(h.proc.pid).map((w) => w.generation)).size === 1, 10_000);
  const s = await h.status();
  assert.equal(s.generations.filter((g) => g.state === 'active').length, 1);
  assert.equal(servedBy(await request(port, '/')), 'b');
});
