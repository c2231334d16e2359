#!/usr/bin/env node
// The property-based HTTP/1 parser tests with many cases (npm test runs a few hundred).
//   npm run fuzz                      20000 cases
//   FUZZ_RUNS=100000 npm run fuzz     more
//   FUZZ_SEED=123 npm run fuzz        replay the seed a failure printed
import { spawn } from 'node:child_process';

const env = { ...process.env, FUZZ_RUNS: process.env.FUZZ_RUNS ?? '20000' };
const child = spawn(process.execPath, ['--test', '--test-timeout=3600000', 'dist/test/http-parser/fuzz.test.js'], {
  stdio: 'inherit',
  env,
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
