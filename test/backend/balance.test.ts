import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BalanceAlgorithm } from '../../src/config/types.js';
import type { BackendRuntime } from '../../src/backend/backend-runtime.js';
import type { Slot } from '../../src/backend/types.js';
import { ctx, makeRuntime, type ServerSpec } from './make-backend.js';

const ALGORITHMS: BalanceAlgorithm[] = ['roundrobin', 'leastconn', 'random', 'source', 'uri'];
const down = { kind: 'admin', detail: 'test' } as const;

/** n selections, each released at once; returns server name → count, and the sequence. */
function select(rt: BackendRuntime, n: number, context = (_i: number) => ctx()): { counts: Map<string, number>; seq: string[] } {
  const counts = new Map<string, number>();
  const seq: string[] = [];
  for (let i = 0; i < n; i++) {
    const slot = rt.tryAcquire(context(i));
    assert.ok(slot, `selection ${i} got a slot`);
    const name = slot.server.config.name;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    seq.push(name);
    slot.release();
  }
  return { counts, seq };
}

/** Hold n slots on one server (the others in maint meanwhile). */
function holdOn(rt: BackendRuntime, name: string, n: number): Slot[] {
  const others = rt.servers.filter((s) => s.config.name !== name);
  for (const s of others) s.setState({ admin: 'maint' }, down);
  const held: Slot[] = [];
  for (let i = 0; i < n; i++) held.push(rt.tryAcquire(ctx())!);
  for (const s of others) s.setState({ admin: 'ready' }, down);
  assert.equal(rt.server(name)!.active, n);
  return held;
}

function servers(...weights: number[]): ServerSpec[] {
  return weights.map((weight, i) => ({ name: String.fromCharCode(97 + i), weight }));
}

test('roundrobin: equal weights split 1,000 selections exactly', () => {
  const { rt } = makeRuntime({ balance: 'roundrobin', servers: servers(1, 1, 1) });
  const { counts } = select(rt, 1000);
  assert.deepEqual([...counts.values()].sort(), [333, 333, 334]);
});

test('roundrobin: weights 3,1 give exactly 750/250', () => {
  const { rt } = makeRuntime({ balance: 'roundrobin', servers: servers(3, 1) });
  const { counts } = select(rt, 1000);
  assert.equal(counts.get('a'), 750);
  assert.equal(counts.get('b'), 250);
});

test('roundrobin: smooth sequence, the heavy server never 3 in a row with weights 2,1', () => {
  const { rt } = makeRuntime({ balance: 'roundrobin', servers: servers(2, 1) });
  const { counts, seq } = select(rt, 1000);
  assert.ok(!seq.join('').includes('aaa'), 'never aaa');
  assert.ok(!seq.join('').includes('bb'), 'never bb');
  assert.equal(counts.get('a'), 667);
  assert.equal(counts.get('b'), 333);
  // weights 5,1,1: nginx's smooth sequence interleaves the light ones
  const { rt: rt2 } = makeRuntime({ balance: 'roundrobin', servers: servers(5, 1, 1) });
  assert.equal(select(rt2, 7).seq.join(''), 'aabacaa');
});

test('roundrobin: a server at maxconn is skipped without losing its turn', () => {
  const { rt } = makeRuntime({ balance: 'roundrobin', servers: [{ name: 'a', maxconn: 1 }, 'b'] });
  const held = rt.tryAcquire(ctx())!;
  assert.equal(held.server.config.name, 'a');
  const { counts } = select(rt, 10);
  assert.equal(counts.get('b'), 10);
  held.release();
  assert.deepEqual([...select(rt, 4).counts.values()], [2, 2]);
});

test('leastconn: even split when every slot is released at once', () => {
  const { rt } = makeRuntime({ balance: 'leastconn', servers: servers(1, 1, 1) });
  const { counts } = select(rt, 1000);
  assert.deepEqual([...counts.values()].sort(), [333, 333, 334]);
});

test('leastconn: the least loaded server is preferred', () => {
  const { rt } = makeRuntime({ balance: 'leastconn', servers: servers(1, 1, 1) });
  const held = holdOn(rt, 'a', 5);
  const { counts } = select(rt, 1000);
  assert.equal(counts.get('a'), undefined, 'a (5 active) never picked while b and c are idle');
  assert.equal(counts.get('b'), 500);
  assert.equal(counts.get('c'), 500);
  // Held slots without release: the load evens out, relative to weight.
  for (const s of held) s.release();
  const { rt: rt2 } = makeRuntime({ balance: 'leastconn', servers: servers(2, 1) });
  for (let i = 0; i < 30; i++) rt2.tryAcquire(ctx());
  assert.equal(rt2.server('a')!.active, 20);
  assert.equal(rt2.server('b')!.active, 10);
});

test('random: equal weights spread within broad bounds', () => {
  const { rt } = makeRuntime({ balance: 'random', servers: servers(1, 1, 1) });
  const { counts } = select(rt, 1000);
  for (const name of ['a', 'b', 'c']) {
    const n = counts.get(name) ?? 0;
    assert.ok(n > 200 && n < 470, `${name}: ${n}`);
  }
});

test('random: weights count, and a loaded server is avoided', () => {
  const { rt } = makeRuntime({ balance: 'random', servers: servers(3, 1) });
  const a = select(rt, 1000).counts.get('a') ?? 0;
  assert.ok(a > 650 && a < 850, `weight 3 of 4: ${a}`);

  const { rt: rt2 } = makeRuntime({ balance: 'random', servers: servers(1, 1, 1) });
  const held = holdOn(rt2, 'a', 10);
  const loaded = select(rt2, 1000).counts.get('a') ?? 0;
  assert.ok(loaded < 50, `a holds 10 slots, picked ${loaded} times`);
  for (const s of held) s.release();
});

test('source: one client address sticks to one server; many addresses spread', () => {
  const { rt } = makeRuntime({ balance: 'source', servers: servers(1, 1, 1) });
  const one = select(rt, 1000, () => ctx('192.0.2.7'));
  assert.equal(one.counts.size, 1);
  assert.equal([...one.counts.values()][0], 1000);
  // The same client seen as an IPv4-mapped IPv6 address.
  assert.equal(rt.tryAcquire(ctx('::ffff:192.0.2.7'))!.server.config.name, one.seq[0]);

  const many = select(rt, 1000, (i) => ctx(`10.0.${i >> 8}.${i & 255}`));
  assert.equal(many.counts.size, 3);
  for (const [name, n] of many.counts) assert.ok(n > 200, `${name}: ${n}`);
});

test('source: a server going down moves only its own clients', () => {
  const { rt } = makeRuntime({ balance: 'source', servers: servers(1, 1, 1) });
  const addr = (i: number) => ctx(`10.1.${i >> 8}.${i & 255}`);
  const before = select(rt, 1000, addr).seq;
  rt.server('b')!.setState({ admin: 'maint' }, down);
  const after = select(rt, 1000, addr).seq;
  for (let i = 0; i < 1000; i++) {
    if (before[i] !== 'b') assert.equal(after[i], before[i], `client ${i} stays on ${before[i]}`);
    else assert.notEqual(after[i], 'b');
  }
  rt.server('b')!.setState({ admin: 'ready' }, down);
  assert.deepEqual(select(rt, 1000, addr).seq, before, 'sticky again once the set is back');
});

test('uri: adding a fifth server to four moves about 1/5 of the paths', () => {
  const path = (i: number) => ctx('127.0.0.1', `/objects/${i}/data.bin?v=${i % 7}`);
  const { rt: four } = makeRuntime({ balance: 'uri', servers: servers(1, 1, 1, 1) });
  const { rt: five } = makeRuntime({ balance: 'uri', servers: servers(1, 1, 1, 1, 1) });
  const a = select(four, 1000, path).seq;
  const b = select(five, 1000, path).seq;
  let moved = 0;
  for (let i = 0; i < 1000; i++) {
    if (a[i] !== b[i]) {
      moved++;
      assert.equal(b[i], 'e', 'a moved path goes to the new server');
    }
  }
  assert.ok(moved >= 100 && moved <= 300, `moved ${moved} of 1000`);
  // The query string does not count, and the same path is always the same server.
  assert.equal(five.tryAcquire(ctx('x', '/p?1'))!.server, five.tryAcquire(ctx('y', '/p?2'))!.server);
});

test('uri: virtual nodes follow weight', () => {
  const { rt } = makeRuntime({ balance: 'uri', servers: servers(3, 1) });
  const a = select(rt, 2000, (i) => ctx('', `/k/${i}`)).counts.get('a') ?? 0;
  assert.ok(a > 1300 && a < 1700, `weight 3 of 4: ${a} of 2000`);
});

for (const algorithm of ALGORITHMS) {
  test(`${algorithm}: backups only while no normal server is usable`, () => {
    const { rt } = makeRuntime({
      balance: algorithm,
      servers: ['a', 'b', { name: 'x', backup: true }, { name: 'y', backup: true }],
    });
    const spread = (i: number) => ctx(`10.2.0.${i & 255}`, `/p/${i}`);
    assert.deepEqual([...select(rt, 200, spread).counts.keys()].sort(), ['a', 'b']);
    rt.server('a')!.setState({ operational: 'down' }, down);
    assert.deepEqual([...select(rt, 200, spread).counts.keys()], ['b'], 'one normal server left: still no backup');
    rt.server('b')!.setState({ admin: 'maint' }, down);
    assert.deepEqual([...select(rt, 200, spread).counts.keys()].sort(), ['x', 'y'], 'all normal servers out: backups');
    rt.server('a')!.setState({ operational: 'up' }, down);
    assert.deepEqual([...select(rt, 200, spread).counts.keys()], ['a'], 'a normal server is back: backups stop');
  });

  test(`${algorithm}: candidates are first choice then fallbacks, each once, never unusable or excluded`, () => {
    const { rt } = makeRuntime({ balance: algorithm, servers: ['a', 'b', 'c', 'd', { name: 'x', backup: true }] });
    rt.server('c')!.setState({ operational: 'down' }, down);
    const b = rt.server('b')!;
    for (let i = 0; i < 20; i++) {
      const context = ctx(`10.3.0.${i}`, `/c/${i}`);
      const all = [...rt.balancer.candidates(context)].map((s) => s.config.name);
      assert.deepEqual([...all].sort(), ['a', 'b', 'd'], `all usable normal servers, once: ${all.join(',')}`);
      const some = [...rt.balancer.candidates(context, new Set([b]))].map((s) => s.config.name);
      assert.deepEqual([...some].sort(), ['a', 'd']);
    }
    // Hash algorithms: the first candidate is the one a selection takes.
    if (algorithm === 'source' || algorithm === 'uri') {
      const context = ctx('10.9.9.9', '/same');
      const first = [...rt.balancer.candidates(context)][0];
      assert.equal(rt.tryAcquire(context)!.server, first);
    }
    // Excluding every usable server leaves nothing (backups are not a retry target).
    const every = new Set(rt.servers.filter((s) => !s.config.backup));
    assert.deepEqual([...rt.balancer.candidates(ctx(), every)], []);
    assert.equal(rt.tryAcquire(ctx(), every), undefined);
    assert.equal(rt.hasUsable(every), false);
  });

  test(`${algorithm}: full servers come after available ones; weight 0 never`, () => {
    const { rt } = makeRuntime({ balance: algorithm, servers: [{ name: 'a', maxconn: 1 }, 'b', { name: 'z', weight: 0 }] });
    // Fill a (whichever order the algorithm uses).
    const held: Slot[] = [];
    for (let i = 0; i < 50 && rt.server('a')!.active === 0; i++) {
      const s = rt.tryAcquire(ctx(`10.4.0.${i}`, `/f/${i}`))!;
      if (s.server.config.name === 'a') held.push(s);
      else s.release();
    }
    assert.equal(rt.server('a')!.active, 1);
    for (let i = 0; i < 20; i++) {
      const names = [...rt.balancer.candidates(ctx(`10.4.1.${i}`, `/g/${i}`))].map((s) => s.config.name);
      assert.deepEqual(names, ['b', 'a']);
    }
    for (const s of held) s.release();
  });
}
