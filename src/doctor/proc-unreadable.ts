// The one failure doctor cannot work around: the kernel's socket tables are not readable
// (no /proc, a fixture tree without net/tcp, a locked-down container). The CLI exits 2.
import { HandoffError } from '../lib/errors.js';

export class ProcUnreadableError extends HandoffError {
  readonly path: string;

  constructor(path: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('HANDOFF_ERR_INTERNAL', 'internal', `cannot read ${path}: ${reason}`, { cause });
    this.name = 'ProcUnreadableError';
    this.path = path;
  }
}
