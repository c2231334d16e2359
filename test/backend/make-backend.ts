// Hand-built config objects for backend tests (the config loader is tested elsewhere).
import type { Backend, BalanceAlgorithm, HealthCheck, Server, SocketAddress, Timeouts } from '../../src/config/types.js';
import { createLogger, type Logger } from '../../src/observe/logger.js';
import { BackendRuntime } from '../../src/backend/backend-runtime.js';

export function address(port: number, host = '127.0.0.1'): SocketAddress {
  const family = host.includes(':') ? 6 : 4;
  return { host, port, family, key: family === 6 ? `[${host}]:${port}` : `${host}:${port}` };
}

export interface ServerSpec {
  name: string;
  port?: number;
  host?: string;
  weight?: number;
  maxconn?: number;
  backup?: boolean;
  admin?: Server['admin'];
}

export interface BackendSpec {
  name?: string;
  balance?: BalanceAlgorithm;
  servers: (ServerSpec | string)[];
  health?: Partial<HealthCheck>;
  retries?: number;
  maxqueue?: number;
  passive?: Partial<Backend['passive']>;
  timeouts?: Partial<Timeouts>;
}

export const defaultTimeouts: Timeouts = {
  connect: 5000,
  client: 60000,
  server: 60000,
  queue: 5000,
  httpRequest: 10000,
  keepAlive: 60000,
  tunnel: 3600000,
};

export function makeServer(spec: ServerSpec | string, index: number): Server {
  const s = typeof spec === 'string' ? { name: spec } : spec;
  return {
    name: s.name,
    address: address(s.port ?? 9001 + index, s.host),
    weight: s.weight ?? 1,
    maxconn: s.maxconn,
    backup: s.backup ?? false,
    admin: s.admin ?? 'ready',
  };
}

export function makeBackend(spec: BackendSpec): Backend {
  const health: HealthCheck | undefined = spec.health
    ? {
        type: 'tcp',
        interval: 50,
        timeout: 1000,
        rise: 2,
        fall: 2,
        method: 'GET',
        path: '/',
        expect: { min: 200, max: 399 },
        ...spec.health,
      }
    : undefined;
  return {
    name: spec.name ?? 'app',
    balance: spec.balance ?? 'roundrobin',
    servers: spec.servers.map(makeServer),
    health,
    retries: spec.retries ?? 2,
    maxqueue: spec.maxqueue,
    passive: { fall: 3, cooldown: 5000, ...spec.passive },
    timeouts: { ...defaultTimeouts, ...spec.timeouts },
  };
}

/** A logger that keeps its lines (and writes nothing to stderr). */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('backend', {}, (l) => lines.push(l)), lines };
}

/** A runtime from a spec, logging into `lines`. */
export function makeRuntime(spec: BackendSpec): { rt: BackendRuntime; lines: string[] } {
  const { logger, lines } = captureLogger();
  return { rt: new BackendRuntime(makeBackend(spec), { logger }), lines };
}

export const ctx = (clientAddress = '127.0.0.1', uri = '/') => ({ clientAddress, uri });
