// `handoff echo`: start the demo/test backend (src/echo/echo-server.ts has its contract),
// print the listening line, stop on SIGTERM/SIGINT with exit code 0.
import { describeError } from '../lib/errors.js';
import { startEchoServer } from '../echo/echo-server.js';
import { HandoffError } from '../lib/errors.js';
import { command, parse, UsageError } from './args.js';

const HELP = `usage: handoff echo --port N [--host HOST] [--name NAME] [--tcp]

A small backend for demos and tests (see docs/echo.md).
  --port N      port to listen on; 0 picks a free one (required)
  --host HOST   address to bind (default 127.0.0.1; ::1 for IPv6)
  --name NAME   reported in X-Server and the JSON echo (default echo-PORT)
  --tcp         raw TCP echo instead of HTTP/WebSocket

Prints "handoff echo NAME listening on HOST:PORT" once ready.
SIGTERM/SIGINT: stop within 2 seconds, exit 0.`;

// Stop must finish within 2 s of the signal; this backstop covers a stray handle.
const EXIT_DEADLINE_MS = 1900;

function parsePort(raw: string): number {
  const port = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port must be 0-65535, got '${raw}'`);
  return port;
}

/**
 * Resolves at the first SIGTERM/SIGINT; a second one exits at once. The handlers stay
 * installed for the life of the process, so no signal ever meets the default action.
 */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      received += 1;
      if (received > 1) process.exit(0);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // Started with an IPC channel (the built-in demo): stop when the parent goes away, so
    // a killed demo leaves no backend behind.
    if (process.send) process.on('disconnect', () => onSignal('SIGTERM'));
  });
}

export async function run(argv: string[]): Promise<number> {
  return command(HELP, async () => {
    const { values } = parse(argv, {
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      name: { type: 'string' },
      tcp: { type: 'boolean' },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (values.port === undefined) throw new UsageError('--port is required (0 picks a free port)');
    // Listen for signals before binding: a stop that arrives early still exits cleanly.
    const signal = stopSignal();
    let server: Awaited<ReturnType<typeof startEchoServer>>;
    try {
      server = await startEchoServer({
        port: parsePort(values.port),
        host: values.host,
        name: values.name,
        mode: values.tcp ? 'tcp' : 'http',
      });
    } catch (err) {
      // A usage error goes on to command(): exit code 2 with the help.
      if (err instanceof HandoffError && !(err instanceof UsageError)) {
        console.error(`handoff echo: ${describeError(err)}`);
        return 1;
      }
      throw err;
    }
    process.stdout.write(`handoff echo ${server.name} listening on ${server.address}\n`);
    await signal;
    setTimeout(() => process.exit(0), EXIT_DEADLINE_MS).unref();
    await server.close();
    return 0;
  });
}
