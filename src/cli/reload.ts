// `handoff reload [-f FILE | -s SOCK]`: ask the running master to reload, and wait until
// the new generation is active. Exit 0 with its number and duration, else 1 with the
// reason (config errors as FILE:LINE:COL).
import { describeError } from '../lib/errors.js';
import { command, parse } from './args.js';
import { controlRequest, ControlError } from '../protocol/control-client.js';
import type { ControlRequest, ControlResponse } from '../protocol/control.js';
import { controlTarget } from './control-target.js';

const HELP = `usage: handoff reload [-f FILE | -s SOCK] [--restart]

Reload the running service and wait until the new config is in force. The master
applies it live, in the running workers (no new process, no connection touched),
unless it needs new processes (another 'workers' count, another handoff version on
disk, another access log target) or --restart asks for them. A config identical to
the one in force is a no-op ("unchanged").
  -f, --file FILE     the config to load (its 'control' names the master's socket);
                      default: the master reloads the file it runs
  -s, --socket SOCK   the master's control socket
  --restart           new worker processes (a new generation, with migration)
With neither -f nor -s: ./handoff.yaml if present, else the built-in demo.

Exit status: 0 once the new config is in force, 1 when the reload failed (the
service keeps running as it was), 2 usage error.`;

/** Print a reload's answer (reload and apply); returns the exit code. */
export function printReloadAnswer(verb: string, res: ControlResponse): number {
  if (!res.ok) {
    console.error(`handoff ${verb}: failed: ${res.error}`);
    return 1;
  }
  if (res.type !== 'reload') throw new ControlError('unexpected answer');
  for (const w of res.warnings) console.error(`warning: ${w}`);
  const coalesced = res.coalesced > 1 ? ` (${res.coalesced} requests coalesced)` : '';
  if (res.kind === 'unchanged') console.log(`unchanged: generation ${res.generation} already runs this config${coalesced}`);
  else
    console.log(
      `${verb === 'apply' ? 'applied' : 'reloaded'} (${res.kind}): generation ${res.generation} in force in ${res.durationMs} ms${coalesced}`,
    );
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  return command(HELP, async () => {
    const { values } = parse(argv, {
      file: { type: 'string', short: 'f' },
      socket: { type: 'string', short: 's' },
      restart: { type: 'boolean' },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const target = controlTarget(values);
    return sendReload('reload', target.socket, {
      type: 'reload',
      ...(target.file ? { file: target.file } : {}),
      ...(values.restart ? { restart: true } : {}),
    });
  });
}

/** Send a reload or a push and print its answer; returns the exit code. */
export async function sendReload(verb: 'reload' | 'apply', socket: string, request: ControlRequest): Promise<number> {
  try {
    return printReloadAnswer(verb, await controlRequest(socket, request));
  } catch (err) {
    if (err instanceof ControlError) {
      console.error(`handoff ${verb}: ${describeError(err)}`);
      return 1;
    }
    throw err;
  }
}
