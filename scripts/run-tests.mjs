#!/usr/bin/env node
// Runs the compiled test files with node's built-in test runner.
//   node scripts/run-tests.mjs                 every test
//   node scripts/run-tests.mjs config backend  only files whose path contains one of the words
// Environment: TEST_DIST (default dist) selects the build; TEST_CONCURRENCY (default 2).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = join(process.env.TEST_DIST ?? 'dist', 'test');
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = walk(root).filter((f) => filters.length === 0 || filters.some((w) => relative(root, f).includes(w)));
if (files.length === 0) {
  console.error(`no test files under ${root}${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}
// Files named *.serial.test.js assert a bound taken from an issue (e.g. a generation exits
// within 1 s of the switch): they run after the others, one at a time, so that no sibling
// test file competes for the 2 cores while they measure.
const parallel = files.filter((f) => !f.endsWith('.serial.test.js'));
const serial = files.filter((f) => f.endsWith('.serial.test.js'));

function run(list, concurrency) {
  if (list.length === 0) return Promise.resolve(0);
  const args = [
    '--test',
    `--test-concurrency=${concurrency}`,
    // A hang is a bug this project exists to kill: no test may run longer than this.
    '--test-timeout=180000',
    ...list,
  ];
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    }),
  );
}

const first = await run(parallel, process.env.TEST_CONCURRENCY ?? '2');
const second = await run(serial, '1');
process.exit(first || second);
