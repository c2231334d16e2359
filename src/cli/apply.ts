// `handoff apply -f FILE|-`: push a config document to the running master without editing
// its file by hand. The master validates it exactly as `handoff check` does (errors as
// file:line:col, naming its own config file), writes it atomically over its config file
// (so a restart resumes it), and applies it like a reload.
import { readFile } from 'node:fs/promises';
import { command, parse, UsageError } from './args.js';
import { controlTarget } from './control-target.js';
import { sendReload } from './reload.js';

const HELP = `usage: handoff apply -f FILE|- [-s SOCK] [--restart]

Push a config document to the running service and wait until it is in force. The
master validates it (every error as file:line:col; nothing changes on error), writes
it atomically over the config file it runs, and applies it (live when it can).
  -f, --file FILE     the document to push; '-' reads standard input
  -s, --socket SOCK   the master's control socket (default: the 'control' of FILE,
                      else ./handoff.yaml's, else the built-in demo's)
  --restart           new worker processes (a new generation, with migration)

Exit status: 0 once the config is in force, 1 when it was refused or failed (the
service keeps running as it was), 2 usage error.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
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
    if (values.file === undefined) throw new UsageError('apply needs -f FILE (or -f - for standard input)');
    const fromStdin = values.file === '-';
    let text: string;
    try {
      text = fromStdin ? await readStdin() : await readFile(values.file, 'utf8');
    } catch (err) {
      console.error(`handoff apply: cannot read ${values.file}: ${(err as Error).message}`);
      return 1;
    }
    const target = controlTarget({ socket: values.socket, file: fromStdin ? undefined : values.file });
    return sendReload('apply', target.socket, { type: 'apply', config: text, ...(values.restart ? { restart: true } : {}) });
  });
}
