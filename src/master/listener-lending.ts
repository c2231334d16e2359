// A worker at a frontend's maxconn closes its copy of the listening socket, so that excess
// clients wait in the kernel's accept queue instead of costing it a file descriptor each
// (Node cannot pause accepting on a listening handle, and closing the net.Server closes the
// worker's fd: it cannot listen on it again). Below maxconn it asks for the socket again
// ('listener?'); the master, which holds every listening socket for the service's life,
// sends it once more, as at start. Only a worker of the active generation gets it: a
// draining one must not accept again.
import type { Logger } from '../observe/logger.js';
import type { Generation } from './generation.js';
import type { ListenerRegistry } from './listener-registry.js';
import type { WorkerProcess } from './worker-process.js';

export function lendListener(gen: Generation, worker: WorkerProcess, key: string, registry: ListenerRegistry, log: Logger): void {
  const listener = registry.get(key);
  // The key must still be in the config in force: a live apply may have removed the bind.
  const inForce = gen.config.frontends.some((f) => f.binds.some((b) => b.key === key));
  const granted = listener !== undefined && inForce && gen.state === 'active' && worker.state === 'ready';
  worker.send({ type: 'listener-again', key, granted }, granted ? listener.handle : undefined).catch((err: Error) => {
    log.warn('could not send a listener again', { pid: worker.pid, key, error: err.message });
  });
}
