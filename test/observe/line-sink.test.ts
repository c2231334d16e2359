// The log sink never blocks and never loses a line silently: a write error (ENOSPC from
// /dev/full) and a full buffer are counted and reported; a sink that ends (a reopened log
// lets go of its old file) writes what it accepted before closing, and loses nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineSink, droppedLines, type DropReport } from '../../src/observe/line-sink.js';
import { waitUntil } from '../helpers/wait.js';

test('a write error (ENOSPC) is counted and reported, never silent', async () => {
  const reports: DropReport[] = [];
  const before = droppedLines.access;
  const sink = new LineSink(
    { fd: openSync('/dev/full', 'w'), owned: true },
    { name: 'access', maxBuffered: 1 << 20, report: (r) => reports.push(r) },
  );
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
  const sink = new LineSink(
    { fd: openSync('/dev/full', 'w'), owned: true },
    { name: 'operational', maxBuffered: 100, reportEveryMs: 60_000, report: (r) => reports.push(r) },
  );
  const line = `${'x'.repeat(79)}\n`;
  assert.equal(sink.write(line), true);
  assert.equal(sink.write(line), false);
  assert.equal(sink.write(line), false);
  await waitUntil('a drop report', () => reports.length > 0, 5_000);
  // The accepted line fails too (ENOSPC): 3 lost, within one period: no second report yet.
  await waitUntil('every line counted', () => droppedLines.operational - before === 3, 5_000);
  assert.equal(reports.length, 1);
  sink.close(); // what is left unreported is reported at close
  assert.equal(
    reports.reduce((n, r) => n + r.dropped, 0),
    3,
  );
});

test('end(): what was accepted is written before the file is closed; later lines are counted, not written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-sink-'));
  try {
    const file = join(dir, 'a.log');
    const fd = openSync(file, 'a');
    const before = droppedLines.access;
    const sink = new LineSink({ fd, owned: true }, { name: 'access', maxBuffered: 1 << 20, report: () => {} });
    // Many small batches: several writes are queued behind the one in flight when end() comes.
    for (let i = 0; i < 200; i++) assert.equal(sink.write(`line ${i}\n`), true);
    sink.end();
    sink.write('too late\n');
    const fdTarget = () => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return undefined;
      }
    };
    await waitUntil('the file closed', () => fdTarget() !== file, 5_000);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    assert.deepEqual(
      lines,
      Array.from({ length: 200 }, (_, i) => `line ${i}`),
    );
    assert.equal(droppedLines.access - before, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
