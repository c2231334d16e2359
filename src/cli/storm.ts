// `handoff storm`: reload a proxy under load and report what the clients saw (see
// docs/storm.md). Exit 0 clean, 1 a problem was seen, 2 usage or setup error, 130/143
// interrupted (everything storm started is stopped first).
import { describeError } from '../lib/errors.js';
import { HandoffError } from '../lib/errors.js';
import { StormUsageError, stormOptions } from '../storm/options.js';
import { ProgressLine } from '../storm/progress.js';
import { renderText } from '../storm/render-report.js';
import { runStorm } from '../storm/storm.js';
import { command, parse, UsageError } from './args.js';

const HELP = `usage: handoff storm -f CONFIG [--config-next CONFIG] [load options]
       handoff storm --start CMD (--reload CMD | --reload-signal SIG --pid-file F) [--stop CMD]
                     --frontend ADDR... [--config T] [--config-next T] [--route HOST=NAME]... [load options]

Reload a proxy again and again under load and report what the clients saw: failed
requests by kind, latency, reload durations, LISTEN sockets per address and processes
alive (sampled from /proc), processes left after the drain deadline; then switch to the
next config and probe the route it adds. Loopback addresses only.

target (templates: \${backend.NAME} \${backend.NAME.port} \${port.NAME} \${storm.dir} \${storm.template-dir};
commands also {config} {dir} {pidfile}):
  -f, --file CONFIG        a handoff config template: storm runs 'handoff start -f', reloads it
                           through its control socket (applied live when the change allows)
  --restart                with -f: every reload starts new worker processes (reload --restart)
  --start CMD              any proxy: the shell command that starts it (foreground or daemon)
  --reload CMD             the command for one reload (exit 0 = done)
  --reload-signal SIG      ... or send SIG (HUP, USR2) to the pid in --pid-file F
  --stop CMD               stop command (default: SIGTERM to every process of the target)
  --config T               the proxy's config template, rendered to {config}
  --config-next T          the config with a new host and backend, for the new-route phase
  --frontend ADDR          where to send load (repeat; templated: 127.0.0.1:\${port.web})
  --route HOST=NAME[+NAME] requests for HOST must be answered by backend NAME (repeat)
  --backend NAME=ADDR      use this running backend for \${backend.NAME} (default: storm
                           starts an echo server per name)
  --drain-deadline D       how long old processes may live after a reload (default 10s;
                           handoff: drain.timeout + 2s)
load:
  --interval D             time between reloads (default 1s)
  --reloads N              number of reloads (default 10, or unlimited with --duration)
  --duration D             stop reloading after D
  --keepalive N            keep-alive clients, sequential requests on one connection (default 2)
  --fresh N                clients with a new connection per request (default 2)
  --websocket N            WebSocket echo clients (default 1)
  --timeout D              per request / per echo (default 5s)
  --rate N                 requests per second per client, 0 = as fast as answered (default 0)
tls (keep-alive and fresh clients, probes):
  --tls                    speak TLS to the frontends (WebSocket clients: --websocket 0)
  --ca FILE                trust these CAs (default: the system roots)
  --sni NAME               server name for every connection (default: the request's Host)
  --insecure               do not verify the certificate
new route:
  --probe N                fresh requests to the new host (default 30)
  --probe-host HOST        the new host (default for handoff: from the configs)
  --probe-backend NAME     the backend it must reach (default: the one the next config adds)
  --probe-after D          wait after the reload before probing (default 0)
output:
  --json                   the report as JSON (format handoff-storm/1)
  --sample-every D         /proc sampling period (default 100ms)
  --keep-dir               keep the work folder (rendered configs, target log)
  -h, --help               this help

exit status: 0 no problem, 1 a failure, split, leftover or failed probe was seen,
2 usage or setup error, 130 interrupted (after stopping everything)`;

export async function run(argv: string[]): Promise<number> {
  return command(HELP, async () => {
    const { values } = parse(argv, {
      file: { type: 'string', short: 'f' },
      restart: { type: 'boolean' },
      config: { type: 'string' },
      'config-next': { type: 'string' },
      start: { type: 'string' },
      reload: { type: 'string' },
      'reload-signal': { type: 'string' },
      'pid-file': { type: 'string' },
      stop: { type: 'string' },
      frontend: { type: 'string', multiple: true },
      route: { type: 'string', multiple: true },
      backend: { type: 'string', multiple: true },
      'drain-deadline': { type: 'string' },
      interval: { type: 'string' },
      reloads: { type: 'string' },
      duration: { type: 'string' },
      keepalive: { type: 'string' },
      fresh: { type: 'string' },
      websocket: { type: 'string' },
      timeout: { type: 'string' },
      rate: { type: 'string' },
      probe: { type: 'string' },
      'probe-host': { type: 'string' },
      'probe-backend': { type: 'string' },
      'probe-after': { type: 'string' },
      'sample-every': { type: 'string' },
      json: { type: 'boolean' },
      'keep-dir': { type: 'boolean' },
      tls: { type: 'boolean' },
      ca: { type: 'string' },
      sni: { type: 'string' },
      insecure: { type: 'boolean' },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    let options: ReturnType<typeof stormOptions>;
    try {
      options = stormOptions(values);
    } catch (err) {
      if (err instanceof StormUsageError) throw new UsageError(err.message);
      throw err;
    }

    // Ctrl-C / SIGTERM: stop the load and the target in order; a second one kills at once
    const interrupt = new AbortController();
    let received: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
      received = signal;
      interrupt.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const progress = !values.json && process.stdout.isTTY ? new ProgressLine(process.stdout) : undefined;
    try {
      const report = await runStorm(options, interrupt.signal, progress ? { onProgress: (p) => progress.update(p) } : {});
      progress?.clear();
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
      if (received) return 128 + (received === 'SIGINT' ? 2 : 15);
      return report.verdict === 'ok' ? 0 : 1;
    } catch (err) {
      progress?.clear();
      if (received) {
        console.error(`handoff storm: interrupted (${received}); everything it started is stopped`);
        return 128 + (received === 'SIGINT' ? 2 : 15);
      }
      if (err instanceof HandoffError) {
        console.error(`handoff storm: ${describeError(err)}`);
        return 2;
      }
      throw err;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}
