// The executable entry point. bin/handoff.js imports this; tests spawn it directly with
// `node dist/src/cli/entry.js` so they run the build they were compiled with.
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 70;
  },
);
