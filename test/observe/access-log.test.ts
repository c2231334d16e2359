// The access log batches lines (a write per FLUSH_MS or per FLUSH_BYTES, not per request)
// and loses none for it: a burst arrives whole and in order, a batch never exceeds a small
// log.buffer (it would be dropped whole), and close() writes what was pending at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessEntry } from '../../src/observe/access-entry.js';
import { AccessLog, FLUSH_BYTES, isoTime } from '../../src/observe/access-log.js';
import { droppedLines } from '../../src/observe/line-sink.js';
import { waitUntil } from '../helpers/wait.js';

function entry(i: number): AccessEntry {
  return {
    time: new Date(0).toISOString(),
    generation: 1,
    pid: 1,
    client: '127.0.0.1:1',
    frontend: 'web',
    path: `/${i}`,
    bytes_in: 0,
    bytes_out: 0,
    timings: { total: 0 },
    termination: 'ok',
  };
}

function paths(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => String((JSON.parse(l) as AccessEntry).path));
}

test('a burst larger than a batch arrives whole and in order, nothing dropped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-access-'));
  const file = join(dir, 'access.log');
  const log = new AccessLog({ target: { file } });
  const before = droppedLines.access;
  const n = Math.ceil((3 * FLUSH_BYTES) / JSON.stringify(entry(0)).length);
  try {
    for (let i = 0; i < n; i++) log.write(entry(i));
    await waitUntil('every line written', () => paths(file).length === n, 10_000);
    assert.deepEqual(
      paths(file),
      Array.from({ length: n }, (_, i) => `/${i}`),
    );
    assert.equal(droppedLines.access, before);
  } finally {
    log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('under a small log.buffer (2 KiB, less than a batch) lines are written, not dropped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-access-'));
  const file = join(dir, 'access.log');
  // 2 KiB: a 64 KiB batch would exceed it and be dropped whole.
  const log = new AccessLog({ target: { file }, buffer: 2048 });
  const before = droppedLines.access;
  try {
    for (let i = 0; i < 5; i++) log.write(entry(i));
    await waitUntil('the lines written', () => paths(file).length === 5, 10_000);
    assert.equal(droppedLines.access, before);
  } finally {
    log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('close() loses no pending line: the batch not yet due is written at once, before the file is closed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-access-'));
  const file = join(dir, 'access.log');
  const log = new AccessLog({ target: { file } });
  try {
    for (let i = 0; i < 3; i++) log.write(entry(i));
    const before = droppedLines.access;
    log.close();
    // Synchronously: a worker exits right after closing its log.
    assert.deepEqual(paths(file), ['/0', '/1', '/2']);
    assert.equal(droppedLines.access, before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('isoTime is toISOString, whether the millisecond was asked before or not', () => {
  for (const ms of [0, 1, 1, 1_764_687_600_123, 1_764_687_600_123, 1_764_687_600_124, 0])
    assert.equal(isoTime(ms), new Date(ms).toISOString());
});
