// `handoff stop [--now]`: graceful stop (every generation drains by drain.timeout), or now.
import { describeError } from '../lib/errors.js';
import { command, parse } from './args.js';
import { controlRequest, ControlError } from '../protocol/control-client.js';
import { controlTarget } from './control-target.js';

const HELP = `usage: handoff stop [--now] [-f FILE | -s SOCK]

Stop the running service: in-flight requests finish and connections close at their next
idle point, within drain.timeout. With --now, close everything at once.
  --now               immediate stop
  -f, --file FILE     find the master by this config's control socket
  -s, --socket SOCK   the master's control socket`;

export async function run(argv: string[]): Promise<number> {
  return command(HELP, async () => {
    const { values } = parse(argv, {
      now: { type: 'boolean' },
      file: { type: 'string', short: 'f' },
      socket: { type: 'string', short: 's' },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    try {
      const res = await controlRequest(controlTarget(values).socket, { type: 'stop', now: values.now === true });
      if (!res.ok) {
        console.error(`handoff stop: ${res.error}`);
        return 1;
      }
      console.log(values.now ? 'stopping now' : 'stopping (draining)');
      return 0;
    } catch (err) {
      if (err instanceof ControlError) {
        console.error(`handoff stop: ${describeError(err)}`);
        return 1;
      }
      throw err;
    }
  });
}
