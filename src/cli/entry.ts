// The executable entry point. bin/handoff.js imports this; tests spawn it directly with
// `node dist/src/cli/entry.js` so they run the build they were compiled with.
import { describeError, HandoffError } from '../lib/errors.js';
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A HandoffError is an expected failure: its code and message say it all. Anything
    // else is a bug: the stack helps whoever reports it.
    console.error(err instanceof HandoffError ? describeError(err) : err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 70;
  },
);
