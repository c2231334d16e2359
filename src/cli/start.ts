// `handoff start [-f FILE]`: run the master in the foreground. Without -f: the built-in
// demo. Signals: SIGHUP reload; SIGUSR1 reopen the access log files (logrotate);
// SIGTERM/SIGINT graceful stop (a second one: immediate); SIGQUIT immediate stop.
// --watch: apply the config file whenever its content changes.
import { describeError } from '../lib/errors.js';
import { readFile } from 'node:fs/promises';
import { ConfigWatch, SETTLE_MS } from '../master/config-watch.js';
import { Master, ReloadFailure } from '../master/master.js';
import { startDemo, type Demo } from '../demo/demo.js';
import { createLogger, operationalFormat } from '../observe/logger.js';
import { command, parse, UsageError } from './args.js';

const HELP = `usage: handoff start [-f FILE] [--watch] [--port N]

Run handoff in the foreground: the master binds every listener once and runs the workers
in generations. Without -f, the built-in demo (its own backends, HTTP on 127.0.0.1:8080).
  -f, --file FILE   the configuration file
  -w, --watch       apply the config file whenever its content changes (atomic replace,
                    Kubernetes ConfigMap update or in-place write; ${SETTLE_MS} ms settle time);
                    an invalid file is logged as file:line:col and the running config stays
  --port N          the demo's HTTP port (default 8080; TCP on N+1, stats on N+2)

Signals: SIGHUP reload, SIGUSR1 reopen log files, SIGTERM/SIGINT graceful stop,
SIGQUIT immediate stop.
Environment (the operational log, on stderr): HANDOFF_LOG_LEVEL=debug|info|warn|error,
HANDOFF_LOG_FORMAT=text|json.`;

export async function run(argv: string[]): Promise<number> {
  return command(HELP, async () => {
    const { values } = parse(argv, {
      file: { type: 'string', short: 'f' },
      watch: { type: 'boolean', short: 'w' },
      port: { type: 'string' },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (operationalFormat() === undefined)
      throw new UsageError(`HANDOFF_LOG_FORMAT must be text or json, got '${process.env.HANDOFF_LOG_FORMAT}'`);
    const log = createLogger('master', { pid: process.pid });
    let demo: Demo | undefined;
    let file = values.file;
    if (file === undefined) {
      const port = values.port === undefined ? 8080 : Number(values.port);
      if (!Number.isInteger(port) || port < 1 || port > 65533) throw new UsageError(`--port must be a port number, got '${values.port}'`);
      try {
        demo = await startDemo(port);
      } catch (err) {
        console.error(`handoff start: ${describeError(err)}`);
        return 1;
      }
      file = demo.configFile;
    } else if (values.port !== undefined) {
      throw new UsageError('--port is for the built-in demo; with -f the config names the ports');
    }

    const master = new Master(file);
    const watch = values.watch
      ? new ConfigWatch(file, {
          log,
          // A master that is stopping takes no reload: nothing to apply, nothing to log.
          apply: () => (master.state === 'running' ? master.reload() : Promise.resolve(undefined)),
        })
      : undefined;
    // The bytes the master is about to load: a change from here on is applied once it runs.
    const baseline = watch ? await readFile(file).catch(() => undefined) : undefined;
    let signals = 0;
    const onStop = (now: boolean) => {
      watch?.close();
      signals++;
      void master.stop(now || signals > 1);
    };
    process.on('SIGTERM', () => onStop(false));
    process.on('SIGINT', () => onStop(false));
    process.on('SIGQUIT', () => onStop(true));
    process.on('SIGUSR1', () => master.reopenLogs());
    process.on('SIGHUP', () => {
      master.reload().then(
        (a) => log.info('reload by SIGHUP done', { generation: a.generation, duration_ms: a.durationMs }),
        (err: Error) => log.warn('reload by SIGHUP failed', { reason: err.message.split('\n')[0] }),
      );
    });
    try {
      await master.start();
    } catch (err) {
      console.error(
        `handoff start: ${err instanceof ReloadFailure && err.issues ? `${err.code}: invalid config\n${err.message}` : describeError(err)}`,
      );
      await demo?.stop();
      return 1;
    }
    if (demo) console.log(demo.help);
    if (watch && master.state === 'running') await watch.start(baseline);
    await master.finishedPromise;
    watch?.close();
    await demo?.stop();
    return 0;
  });
}
