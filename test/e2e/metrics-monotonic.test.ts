// /metrics counters only grow: across live reloads, a process reload (--restart) and a
// worker killed with SIGKILL, every counter and histogram series sampled over HTTP is never
// below its previous value, and handoff_requests_total equals the requests sent. Before the
// master kept exited workers' counters, requests_total fell to 0 after a process reload.
// The exposition is parsed strictly (# TYPE for every family, histogram series, base units).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho } from '../helpers/echo.js';
import { freePort } from '../helpers/net.js';
import { startHandoff, workerPids } from '../helpers/handoff.js';
import { request } from '../helpers/http-client.js';
import { stopAll, alive } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { monotonicSeries, parseExposition, sumOf, type Exposition } from '../helpers/prometheus.js';

after(() => stopAll());

const EXPECTED_TYPES: Record<string, string> = {
  handoff_build_info: 'gauge',
  handoff_config_generation: 'gauge',
  handoff_process_generation: 'gauge',
  handoff_oldest_draining_process_age_seconds: 'gauge',
  handoff_last_reload_success_timestamp_seconds: 'gauge',
  handoff_requests_total: 'counter',
  handoff_request_duration_seconds: 'histogram',
  handoff_reloads_total: 'counter',
  handoff_reload_duration_seconds: 'histogram',
  handoff_connections: 'gauge',
  handoff_connections_accepted_total: 'counter',
  handoff_backend_queue_length: 'gauge',
  handoff_backend_queue_wait_seconds: 'histogram',
  handoff_server_up: 'gauge',
  handoff_server_state: 'gauge',
  handoff_server_requests_total: 'counter',
  handoff_workers: 'gauge',
};

function checkNaming(e: Exposition): void {
  for (const [name, f] of e.families) {
    assert.ok(name.startsWith('handoff_'), `${name}: no handoff_ prefix`);
    if (f.type === 'counter') assert.ok(name.endsWith('_total'), `counter ${name} must end in _total`);
    else assert.ok(!name.endsWith('_total'), `${f.type} ${name} must not end in _total`);
    assert.ok(!/_(ms|milliseconds|kb|mb)(_|$)/.test(name), `${name}: not in base units`);
    assert.ok(f.help.length > 0, `${name}: no # HELP`);
    for (const s of f.samples) {
      for (const l of Object.keys(s.labels))
        assert.ok(!['generation', 'pid', 'reload', 'id'].includes(l), `${name}: label ${l} grows without bound`);
    }
  }
  for (const [name, type] of Object.entries(EXPECTED_TYPES)) assert.equal(e.families.get(name)?.type, type, `# TYPE of ${name}`);
  // Histograms: cumulative buckets ending in +Inf, which equals _count.
  for (const f of e.families.values()) {
    if (f.type !== 'histogram') continue;
    const bySeries = new Map<string, number[]>();
    for (const s of f.samples.filter((x) => x.name.endsWith('_bucket'))) {
      const { le: _le, ...rest } = s.labels;
      const k = JSON.stringify(rest);
      bySeries.set(k, [...(bySeries.get(k) ?? []), s.value]);
      if (s.labels.le === '+Inf') assert.equal(s.value, sumOf(e, `${f.name}_count`, rest), `${f.name} +Inf bucket equals _count`);
    }
    for (const [k, buckets] of bySeries)
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]! >= buckets[i - 1]!, `${f.name}${k} buckets are cumulative`);
  }
}

test('every counter of /metrics only grows across live reloads, a process reload and a SIGKILLed worker; requests_total = requests sent', async () => {
  const echo = await startEcho('a');
  const port = await freePort();
  const statsPort = await freePort();
  const config = (timeout: string) => `workers: 2
log: { access: off }
drain: { timeout: 5s }
stats: { bind: 127.0.0.1:${statsPort} }
frontends:
  web: { bind: 127.0.0.1:${port}, default_backend: a }
backends:
  a: { timeouts: { server: ${timeout} }, servers: [ { name: a, address: ${echo.address} } ] }
`;
  const h = await startHandoff(config('10s'));

  let previous = new Map<string, number>();
  let samples = 0;
  /** Scrape, parse, check names and types, and check that no counter went back since the last scrape (one scrape at a time). */
  let queue: Promise<unknown> = Promise.resolve();
  const scrape = (): Promise<Exposition> => {
    const next = queue.then(scrapeOnce);
    queue = next.catch(() => {});
    return next;
  };
  const scrapeOnce = async (): Promise<Exposition> => {
    const res = await fetch(`http://127.0.0.1:${statsPort}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const e = parseExposition(await res.text());
    checkNaming(e);
    const now = monotonicSeries(e);
    for (const [k, v] of previous) {
      const n = now.get(k);
      assert.ok(n !== undefined, `${k} disappeared (was ${v})`);
      assert.ok(n >= v, `${k} went back from ${v} to ${n}`);
    }
    previous = now;
    samples++;
    return e;
  };
  // A scrape loop running through every phase, as Prometheus would (bounded: it stops with the test).
  let scraping = true;
  const loop = (async () => {
    for (let i = 0; scraping && i < 10_000; i++) await scrape();
  })();

  let sent = 0;
  const send = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const r = await request(port, `/n${sent}`);
      assert.equal(r.status, 200);
      sent++;
    }
  };
  const requestsTotal = (e: Exposition) => sumOf(e, 'handoff_requests_total');

  await send(30);
  assert.equal(requestsTotal(await scrape()), 30);

  // Two live reloads: the same processes, new config generations.
  for (const t of ['11s', '12s']) {
    const r = await h.reload(config(t));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /live/);
    await send(10);
  }
  let e = await scrape();
  assert.equal(requestsTotal(e), 50);
  assert.equal(sumOf(e, 'handoff_config_generation'), 3);
  assert.equal(sumOf(e, 'handoff_process_generation'), 1);

  // A process reload: generation 1's workers drain and exit; their counts stay.
  const before = workerPids(await h.status());
  const r = await h.reload(undefined, { restart: true });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /process/);
  await waitUntil('the old workers to exit', () => before.every((pid) => !alive(pid)));
  await send(10);
  e = await scrape();
  assert.equal(requestsTotal(e), 60, 'requests of the exited generation still count');
  assert.equal(sumOf(e, 'handoff_process_generation'), 4);
  assert.equal(sumOf(e, 'handoff_config_generation'), 4);
  assert.equal(sumOf(e, 'handoff_reloads_total', { kind: 'live', outcome: 'ok' }), 2);
  assert.equal(sumOf(e, 'handoff_reloads_total', { kind: 'process', outcome: 'ok' }), 1);
  assert.equal(sumOf(e, 'handoff_reload_duration_seconds_count'), 3);

  // A worker killed with SIGKILL: what it reported before stays counted.
  await send(10);
  e = await scrape(); // the master now holds every worker's counts of these requests
  assert.equal(requestsTotal(e), 70);
  const [victim] = workerPids(await h.status());
  process.kill(victim!, 'SIGKILL');
  await waitUntil('a replacement worker', async () => {
    const pids = workerPids(await h.status());
    return pids.length === 2 && !pids.includes(victim!);
  });
  await send(5);
  e = await scrape();
  assert.equal(requestsTotal(e), 75, 'requests_total equals the requests sent');
  assert.equal(sumOf(e, 'handoff_request_duration_seconds_count', { frontend: 'web', backend: 'a', class: '2xx' }), 75);
  assert.equal(sumOf(e, 'handoff_server_requests_total', { backend: 'a', server: 'a' }), 75);
  assert.equal(sumOf(e, 'handoff_connections_accepted_total'), 75);

  scraping = false;
  await loop;
  assert.ok(samples > 5, `scraped ${samples} times`);
  const status = await h.status();
  assert.equal(status.totals.requests, 75, 'handoff status totals are since the master started too');
  assert.equal(await h.stop(), 0);
  await echo.proc.stop();
});
