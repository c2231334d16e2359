// `handoff doctor`: find stale and duplicate listeners on this host (see docs/doctor.md).
// Exit 0 healthy, 1 a problem found, 2 /proc unreadable or bad usage.
import { describeError } from '../lib/errors.js';
import { command, parse, UsageError } from './args.js';
import { collectSnapshot } from '../doctor/collect.js';
import { diagnose, verdict } from '../doctor/diagnose.js';
import { normalizeAddress } from '../doctor/ip-address.js';
import { ProcUnreadableError } from '../doctor/proc-unreadable.js';
import { renderText, toJson } from '../doctor/report.js';
import type { SnapshotFilter } from '../doctor/types.js';

const HELP = `usage: handoff doctor [--port N] [--address A] [--json] [--proc DIR]

Find stale and duplicate listeners on this host: several LISTEN sockets on one address
(SO_REUSEPORT splits new connections between them), an old haproxy/nginx/envoy/handoff
generation still listening next to a newer one, old proxy processes still alive, handoff
workers of old generations, and accept queues that fill up. Reads /proc (run as root to
see every process).

options:
  --port N       only listeners on this TCP port
  --address A    only listeners bound to this address (127.0.0.1, ::1, [::], 0.0.0.0, ...)
  --json         the collected facts and findings as JSON (format handoff-doctor/1)
  --proc DIR     read this /proc tree instead of /proc (tests, offline analysis)
  -h, --help     this help

exit status: 0 healthy, 1 a problem was found, 2 /proc could not be read (or bad usage)`;

function filterFrom(values: { port?: string | undefined; address?: string | undefined }): SnapshotFilter {
  const filter: { port?: number; address?: string } = {};
  if (values.port !== undefined) {
    if (!/^\d+$/.test(values.port) || Number(values.port) < 1 || Number(values.port) > 65535) {
      throw new UsageError(`--port wants a TCP port (1-65535), got '${values.port}'`);
    }
    filter.port = Number(values.port);
  }
  if (values.address !== undefined) {
    const address = normalizeAddress(values.address);
    if (address === undefined) throw new UsageError(`--address wants an IP address, got '${values.address}'`);
    filter.address = address;
  }
  return filter;
}

export async function run(argv: string[]): Promise<number> {
  return command(HELP, async () => {
    const { values } = parse(argv, {
      port: { type: 'string' },
      address: { type: 'string' },
      json: { type: 'boolean' },
      proc: { type: 'string' },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const filter = filterFrom(values);
    let snapshot: Awaited<ReturnType<typeof collectSnapshot>>;
    try {
      snapshot = await collectSnapshot({ filter, ...(values.proc === undefined ? {} : { procRoot: values.proc }) });
    } catch (err) {
      if (err instanceof ProcUnreadableError) {
        console.error(
          `handoff doctor: ${describeError(err)}\n(doctor reads the kernel's socket and process tables under ${values.proc ?? '/proc'}; is it mounted?)`,
        );
        return 2;
      }
      throw err;
    }
    const findings = diagnose(snapshot);
    process.stdout.write(values.json ? `${JSON.stringify(toJson(snapshot, findings), null, 2)}\n` : renderText(snapshot, findings));
    return verdict(findings) === 'problem' ? 1 : 0;
  });
}
