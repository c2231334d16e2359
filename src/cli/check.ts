// `handoff check -f FILE`: validate a config the way a reload would, without a running
// service. Valid: a one-line summary on stdout (warnings on stderr), exit 0. Invalid: every
// error as FILE:LINE:COL: PATH: MESSAGE on stderr, then the count, exit 1.
import { command, parse, UsageError } from './args.js';
import { formatIssue, loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { certificateStatus } from '../tls/status.js';

const HELP = `usage: handoff check -f FILE

Validate a configuration file: YAML syntax, every key and value, references between
frontends and backends, unique listen addresses, readable error pages, TLS certificates
(readable, key matching, not expired; names and expiry listed).

options:
  -f, --file FILE   the configuration file (YAML or JSON)
  -h, --help        this help

Exit status: 0 valid (warnings, if any, on stderr), 1 invalid or unreadable, 2 usage error.`;

export async function run(argv: string[]): Promise<number> {
  return command(HELP, async () => {
    const { values } = parse(argv, { file: { type: 'string', short: 'f' } });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const file = values.file;
    if (typeof file !== 'string' || file === '') throw new UsageError('check needs a file: -f FILE');

    const result = await loadConfig(file);
    if (!result.ok) {
      for (const issue of result.errors) console.error(formatIssue(issue));
      console.error(plural(result.errors.length, 'error'));
      return 1;
    }
    for (const warning of result.warnings) console.error(formatIssue({ ...warning, message: `warning: ${warning.message}` }));
    console.log(`${file}: ok (${summary(result.config)})`);
    // TLS (issue 11): what each certificate serves and until when.
    for (const c of certificateStatus(result.config))
      console.log(
        `  tls ${c.frontend}: ${c.file}${c.default ? ' (default)' : ''}: ${c.names.join(', ') || '(no names)'}; expires ${new Date(c.notAfter).toISOString()}; serial ${c.serial}`,
      );
    return 0;
  });
}

/** "2 frontends, 3 listeners, 2 backends, 4 servers, 2 workers, hash 1a2b3c4d5e6f"; listeners include the stats one. */
export function summary(config: Config): string {
  const listeners = config.frontends.reduce((n, f) => n + f.binds.length, 0) + (config.stats ? 1 : 0);
  const servers = config.backends.reduce((n, b) => n + b.servers.length, 0);
  return [
    plural(config.frontends.length, 'frontend'),
    plural(listeners, 'listener'),
    plural(config.backends.length, 'backend'),
    plural(servers, 'server'),
    plural(config.workers, 'worker'),
    `hash ${config.hash}`,
  ].join(', ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
