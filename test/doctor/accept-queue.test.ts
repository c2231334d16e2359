// A listener that never accepts: connections the kernel completed wait in its accept queue
// (rx_queue of the LISTEN line) until the queue reaches the backlog.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readListenTable } from '../../src/doctor/proc-net.js';
import { handoffRun, stopAll } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';
import { LISTEN_PY, python, Scratch, skipWithoutPython, startListener } from './python.js';

const scratch = new Scratch();
const clients: net.Socket[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await stopAll();
  scratch.remove();
});

test('connections nobody accepts fill the accept queue: flagged (full once it reaches the backlog), exit 1', {
  skip: skipWithoutPython,
}, async () => {
  const { port } = await startListener(python!, scratch.file('listen.py', LISTEN_PY), { backlog: 1 });
  // Linux queues backlog + 1 connections before it drops SYNs: two fit with listen(1)
  for (let i = 0; i < 2; i++) {
    const c = net.connect({ port, host: '127.0.0.1' });
    c.on('error', () => {});
    clients.push(c);
    await new Promise((resolve) => c.once('connect', resolve));
  }
  await waitUntil('two connections in the accept queue', async () =>
    (await readListenTable('/proc')).listening.some((e) => e.port === port && e.address === '127.0.0.1' && e.rxQueue >= 2),
  );

  const r = await handoffRun(['doctor', '--port', String(port), '--json']);
  const doc = JSON.parse(r.stdout);
  const socket = doc.listeners[0].sockets[0];
  assert.equal(socket.acceptQueue, 2);
  if (doc.backlogSource === 'ss') {
    assert.equal(socket.backlog, 1);
    assert.equal(r.code, 1);
    const full = doc.findings.find((f: { code: string }) => f.code === 'accept-queue-full');
    assert.ok(full, JSON.stringify(doc.findings));
    assert.match(full.message, /full, 2 of backlog 1/);
  } else {
    // without ss the limit is unknown: a steady non-empty queue is reported as waiting
    assert.ok(doc.findings.some((f: { code: string }) => f.code === 'accept-queue-waiting'));
  }
  const text = await handoffRun(['doctor', '--port', String(port)]);
  assert.match(text.stdout, doc.backlogSource === 'ss' ? /\s2\/1\s/ : /\s2\/\?\s/);
});
