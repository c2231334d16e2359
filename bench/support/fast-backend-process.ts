// The fast backend as its own process (so its CPU is not the benchmark's, and is measurable).
import { FAST_BACKEND_SCRIPT } from './fast-backend.js';
import { startService, type ServiceProcess } from './service-process.js';

export interface BackendProcess {
  /** For reports: what answers behind the proxy. */
  readonly label: string;
  readonly port: number;
  readonly pid: number;
  readonly service: ServiceProcess;
  stop(): Promise<void>;
}

export async function startFastBackend(): Promise<BackendProcess> {
  const service = startService('fast-backend', process.execPath, [FAST_BACKEND_SCRIPT]);
  const m = await service.waitFor(/fast-backend listening on (\d+)/, 10_000);
  return {
    label: 'fast backend (raw net.Server, 13-byte body)',
    port: Number(m[1]),
    pid: service.pid,
    service,
    stop: () => service.stop('SIGTERM'),
  };
}
