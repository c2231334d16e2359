// The log sink never blocks and never loses a line silently: a write error (ENOSPC from
// /dev/full) and a full buffer are counted and reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync } from 'node:fs';
import { LineSink, droppedLines, type DropReport } from '../../src/observe/line-sink.js';
import { waitUntil } from '../helpers/wait.js';

test('a write error (ENOSPC) is counted and reported, never silent', async () => {
  const reports: DropReport[] = [];
  const before = droppedLines.access;
  const sink = new LineSink({ fd: openSync('/dev/full', 'w'), owned: true }, { name: 'access', maxBuffered: 1 << 20, report: (r) => reports.push(r) });
  for (let i = 0; i < 10; i++) sink.write(`line ${i}\n`);
  await waitUntil('a drop report', () => reports.length > 0, 5_000);
  assert.equal(reports[0]!.reason, 'ENOSPC');
  await waitUntil('every line counted', () => droppedLines.access - before === 10, 5_000);
  sink.close();
});

test('past the bound, lines are dropped at once and reported at most once per period', async () => {
  const reports: DropReport[] = [];
  const before = droppedLines.operational;
  // /dev/full fails every write, but the bound is checked first: 100 bytes hold one line.
  const sink = new LineSink({ fd: openSync('/dev/full', 'w'), owned: true }, { name: 'operational', maxBuffered: 100, reportEveryMs: 60_000, report: (r) => reports.push(r) });
  const line = 'x'.repeat(79) + '\n';
  assert.equal(sink.write(line), true);
  assert.equal(sink.write(line), false);
  assert.equal(sink.write(line), false);
  await waitUntil('a drop report', () => reports.length > 0, 5_000);
  // The accepted line fails too (ENOSPC): 3 lost, within one period: no second report yet.
  await waitUntil('every line counted', () => droppedLines.operational - before === 3, 5_000);
  assert.equal(reports.length, 1);
  sink.close(); // what is left unreported is reported at close
  assert.equal(reports.reduce((n, r) => n + r.dropped, 0), 3);
});
