// `handoff reopen-logs`: after logrotate renamed the access log, every worker opens the
// path again (what SIGUSR1 to the master does, without needing its pid: handy in a
// container or a logrotate postrotate script).
import { describeError } from '../lib/errors.js';
import { command, parse } from './args.js';
import { controlRequest, ControlError } from '../protocol/control-client.js';
import { controlTarget } from './control-target.js';

const HELP = `usage: handoff reopen-logs [-f FILE | -s SOCK]

Reopen the access log files: every worker lets go of the file it writes (renamed by
logrotate, say) once what it accepted is written, and opens the path again. The same as
SIGUSR1 to the master. stdout and stderr are left as they are.
  -f, --file FILE     find the master by this config's control socket
  -s, --socket SOCK   the master's control socket`;

export async function run(argv: string[]): Promise<number> {
  return command(HELP, async () => {
    const { values } = parse(argv, { file: { type: 'string', short: 'f' }, socket: { type: 'string', short: 's' } });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    try {
      const res = await controlRequest(controlTarget(values).socket, { type: 'reopen-logs' });
      if (!res.ok) {
        console.error(`handoff reopen-logs: ${res.error}`);
        return 1;
      }
      console.log(`reopening log files: ${res.type === 'reopen-logs' ? res.workers : 0} workers told`);
      return 0;
    } catch (err) {
      if (err instanceof ControlError) {
        console.error(`handoff reopen-logs: ${describeError(err)}`);
        return 1;
      }
      throw err;
    }
  });
}
