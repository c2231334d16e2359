// Talk to a running master over its control socket. Used by reload, status, stop.
import net from 'node:net';
import { HandoffError } from '../lib/errors.js';
import { parseControlResponse, type ControlRequest, type ControlResponse } from './control.js';

/** The control socket could not be reached or answered badly (not: the master said no). */
export class ControlError extends HandoffError {
  constructor(message: string) {
    super('HANDOFF_ERR_CONTROL', 'internal', message);
    this.name = 'ControlError';
  }
}

export function controlRequest(path: string, req: ControlRequest, timeoutMs = 120_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new ControlError(`no answer from the master on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`${JSON.stringify(req)}\n`));
    s.on('data', (c: string) => (buf += c));
    s.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'no handoff master is running there' : err.message;
      reject(new ControlError(`cannot reach the control socket ${path}: ${why}`));
    });
    s.on('close', () => {
      clearTimeout(timer);
      const line = buf.split('\n')[0] ?? '';
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      const res = parseControlResponse(parsed);
      if (res) resolve(res);
      else reject(new ControlError(`malformed answer from the master on ${path}`));
    });
  });
}
