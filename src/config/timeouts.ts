// Which side's timeout applies where.
import type { Backend, Duration, Frontend } from './types.js';

/**
 * Inactivity timeout of a tunnel (TCP mode, or an HTTP connection after an Upgrade): the
 * backend's `timeouts.tunnel` when the backend sets one, else the frontend's (which is the
 * global value unless the frontend sets its own). Client-side timeouts (client,
 * http-request, keep-alive) always come from the frontend, server-side ones (connect,
 * server, queue) from the backend.
 */
export function tunnelTimeout(frontend: Frontend, backend: Backend | undefined): Duration {
  return backend?.tunnel ?? frontend.timeouts.tunnel;
}
