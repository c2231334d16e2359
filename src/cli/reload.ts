// `handoff reload [-f FILE | -s SOCK]`: ask the running master to reload, and wait until
// the new generation is active. Exit 0 with its number and duration, else 1 with the
// reason (config errors as FILE:LINE:COL).
import { command, parse } from './args.js';
import { controlRequest, ControlError } from '../protocol/control-client.js';
import { controlTarget } from './control-target.js';

const HELP = `usage: handoff reload [-f FILE | -s SOCK]

Reload the running service and wait until the new generation is active.
  -f, --file FILE     the config to load (its 'control' names the master's socket);
                      default: the master reloads the file it runs
  -s, --socket SOCK   the master's control socket
With neither: ./handoff.yaml if present, else the built-in demo.

Exit status: 0 once the new generation is active, 1 when the reload failed (the
service keeps running as it was), 2 usage error.`;

export async function run(argv: string[]): Promise<number> {
  return command(HELP, async () => {
    const { values } = parse(argv, { file: { type: 'string', short: 'f' }, socket: { type: 'string', short: 's' } });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const target = controlTarget(values);
    try {
      const res = await controlRequest(target.socket, { type: 'reload', ...(target.file ? { file: target.file } : {}) });
      if (!res.ok) {
        console.error(`handoff reload: failed: ${res.error}`);
        return 1;
      }
      if (res.type !== 'reload') throw new ControlError('unexpected answer');
      for (const w of res.warnings) console.error(`warning: ${w}`);
      console.log(`reloaded: generation ${res.generation} active in ${res.durationMs} ms${res.coalesced > 1 ? ` (${res.coalesced} requests coalesced)` : ''}`);
      return 0;
    } catch (err) {
      if (err instanceof ControlError) {
        console.error(`handoff reload: ${err.message}`);
        return 1;
      }
      throw err;
    }
  });
}
