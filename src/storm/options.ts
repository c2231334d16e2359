// From `handoff storm` command-line values to StormOptions: every number and duration
// checked and bounded, the target kind decided (-f: handoff; --start: any proxy).
import { HandoffError } from '../lib/errors.js';
import { constants } from 'node:os';
import { parseDuration } from '../config/duration.js';
import type { CommandTargetSpec, RouteSpec, StormOptions, TargetSpec } from './types.js';

export class StormUsageError extends HandoffError {
  constructor(message: string) {
    super('HANDOFF_ERR_USAGE', 'client', message);
    this.name = 'StormUsageError';
  }
}

export interface StormValues {
  file?: string | undefined;
  restart?: boolean | undefined;
  config?: string | undefined;
  'config-next'?: string | undefined;
  start?: string | undefined;
  reload?: string | undefined;
  'reload-signal'?: string | undefined;
  'pid-file'?: string | undefined;
  stop?: string | undefined;
  frontend?: string[] | undefined;
  route?: string[] | undefined;
  backend?: string[] | undefined;
  'drain-deadline'?: string | undefined;
  interval?: string | undefined;
  reloads?: string | undefined;
  duration?: string | undefined;
  keepalive?: string | undefined;
  fresh?: string | undefined;
  websocket?: string | undefined;
  timeout?: string | undefined;
  rate?: string | undefined;
  probe?: string | undefined;
  'probe-host'?: string | undefined;
  'probe-backend'?: string | undefined;
  'probe-after'?: string | undefined;
  'sample-every'?: string | undefined;
  'keep-dir'?: boolean | undefined;
  tls?: boolean | undefined;
  ca?: string | undefined;
  sni?: string | undefined;
  insecure?: boolean | undefined;
}

/** Without --reloads and --duration. */
export const DEFAULT_RELOADS = 10;
/** --duration alone: reloads until the time is up (this is only the backstop). */
const MAX_RELOADS = 1_000_000;
const MAX_CLIENTS = 1000;
const NAME = /^[A-Za-z0-9_-]+$/;

function duration(value: string | undefined, option: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw new StormUsageError(`--${option}: ${(err as Error).message}`);
  }
  if (ms < min) throw new StormUsageError(`--${option} must be at least ${min}ms, got ${value}`);
  return ms;
}

function count(value: string | undefined, option: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > max)
    throw new StormUsageError(`--${option} wants a whole number from 0 to ${max}, got '${value}'`);
  return Number(value);
}

function signalName(value: string): NodeJS.Signals {
  const name = (value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`) as NodeJS.Signals;
  if (!Object.hasOwn(constants.signals, name)) throw new StormUsageError(`--reload-signal: unknown signal '${value}'`);
  return name;
}

function routes(values: readonly string[]): RouteSpec[] {
  return values.map((text) => {
    const m = /^([^=\s]+)=([A-Za-z0-9_+-]+)$/.exec(text);
    const backends = m ? m[2]!.split('+').filter((b) => b !== '') : [];
    if (!m || backends.length === 0 || !backends.every((b) => NAME.test(b)))
      throw new StormUsageError(`--route wants HOST=NAME[+NAME...], got '${text}'`);
    return { host: m[1]!.toLowerCase(), backends };
  });
}

function backends(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const text of values) {
    const eq = text.indexOf('=');
    const name = text.slice(0, eq);
    if (eq <= 0 || !NAME.test(name)) throw new StormUsageError(`--backend wants NAME=ADDRESS (127.0.0.1:9001), got '${text}'`);
    out[name] = text.slice(eq + 1);
  }
  return out;
}

function target(v: StormValues): TargetSpec {
  const commandOptions = (['start', 'reload', 'reload-signal', 'pid-file', 'stop', 'config', 'frontend', 'drain-deadline'] as const).filter(
    (k) => v[k] !== undefined,
  );
  if (v.file !== undefined) {
    if (commandOptions.length > 0)
      throw new StormUsageError(`-f runs handoff itself; --${commandOptions[0]} is for other proxies (--start ...)`);
    return { kind: 'handoff', template: v.file, ...(v.restart ? { restart: true } : {}) };
  }
  if (v.restart) throw new StormUsageError('--restart is for handoff (-f CONFIG)');
  if (v.start === undefined)
    throw new StormUsageError('say what to measure: -f CONFIG (handoff), or --start CMD with --reload CMD (any proxy)');
  let reload: CommandTargetSpec['reload'];
  if (v.reload !== undefined) {
    if (v['reload-signal'] !== undefined) throw new StormUsageError('--reload and --reload-signal exclude each other');
    reload = { command: v.reload };
  } else if (v['reload-signal'] !== undefined) {
    if (v['pid-file'] === undefined)
      throw new StormUsageError('--reload-signal needs --pid-file F (where the process to signal writes its pid)');
    reload = { signal: signalName(v['reload-signal']), pidFile: v['pid-file'] };
  } else throw new StormUsageError('--start needs --reload CMD, or --reload-signal SIG with --pid-file F');
  if (!v.frontend || v.frontend.length === 0)
    throw new StormUsageError('--start needs at least one --frontend ADDRESS to send load to (127.0.0.1:${port.web})');
  return {
    kind: 'command',
    ...(v.config === undefined ? {} : { template: v.config }),
    start: v.start,
    reload,
    ...(v.stop === undefined ? {} : { stop: v.stop }),
    frontends: v.frontend,
    drainDeadlineMs: duration(v['drain-deadline'], 'drain-deadline', 10_000, 0),
  };
}

function clientTlsOption(v: StormValues): Pick<StormOptions, 'tls'> {
  if (!v.tls) {
    const stray = (['ca', 'sni', 'insecure'] as const).find((k) => v[k] !== undefined);
    if (stray) throw new StormUsageError(`--${stray} is for TLS clients: add --tls`);
    return {};
  }
  if (v.insecure && v.ca !== undefined) throw new StormUsageError('--ca and --insecure exclude each other');
  if (v.sni !== undefined && !/^[A-Za-z0-9_.-]+$/.test(v.sni)) throw new StormUsageError(`--sni wants a host name, got '${v.sni}'`);
  return {
    tls: {
      ...(v.ca === undefined ? {} : { caFile: v.ca }),
      ...(v.sni === undefined ? {} : { sni: v.sni.toLowerCase() }),
      insecure: v.insecure === true,
    },
  };
}

export function stormOptions(v: StormValues): StormOptions {
  const t = target(v);
  const durationMs = v.duration === undefined ? undefined : duration(v.duration, 'duration', 0, 1);
  const reloads = count(v.reloads, 'reloads', durationMs === undefined ? DEFAULT_RELOADS : MAX_RELOADS, MAX_RELOADS);
  const options: StormOptions = {
    target: t,
    ...(v['config-next'] === undefined ? {} : { configNext: v['config-next'] }),
    intervalMs: duration(v.interval, 'interval', 1000, 10),
    reloads,
    ...(durationMs === undefined ? {} : { durationMs }),
    keepalive: count(v.keepalive, 'keepalive', 2, MAX_CLIENTS),
    fresh: count(v.fresh, 'fresh', 2, MAX_CLIENTS),
    // WebSocket clients do not speak TLS (yet): none by default with --tls.
    websocket: count(v.websocket, 'websocket', v.tls ? 0 : 1, MAX_CLIENTS),
    timeoutMs: duration(v.timeout, 'timeout', 5000, 10),
    rate: count(v.rate, 'rate', 0, 1_000_000),
    probe: count(v.probe, 'probe', 30, 100_000),
    ...(v['probe-host'] === undefined ? {} : { probeHost: v['probe-host'].toLowerCase() }),
    ...(v['probe-backend'] === undefined ? {} : { probeBackend: v['probe-backend'] }),
    probeAfterMs: duration(v['probe-after'], 'probe-after', 0, 0),
    routes: routes(v.route ?? []),
    backends: backends(v.backend ?? []),
    sampleEveryMs: duration(v['sample-every'], 'sample-every', 100, 10),
    keepDir: v['keep-dir'] === true,
    ...clientTlsOption(v),
  };
  if (options.probeBackend !== undefined && !NAME.test(options.probeBackend))
    throw new StormUsageError(`--probe-backend wants a backend name, got '${options.probeBackend}'`);
  if (options.tls && options.websocket > 0)
    throw new StormUsageError('--websocket clients do not speak TLS: use --websocket 0 with --tls (keep-alive and fresh clients do)');
  if (options.keepalive + options.fresh + options.websocket === 0)
    throw new StormUsageError('no clients: give --keepalive, --fresh or --websocket a number above 0');
  return options;
}
