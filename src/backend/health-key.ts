// The identity of a server in health snapshots and health broadcasts:
//   `${backend}/${server}@${address}`
// A server keeps its health across a reload only while its backend, name and address stay.
import type { Server } from '../config/types.js';
import type { HealthKey } from './types.js';

export function healthKey(backend: string, server: Pick<Server, 'name' | 'address'>): HealthKey {
  return `${backend}/${server.name}@${server.address.key}`;
}
