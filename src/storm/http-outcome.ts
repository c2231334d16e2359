// An HTTP answer as the report counts it: 2xx is ok (with the backend that sent it), any
// other status is a failure under its code.
import { statusFailure } from './failure.js';
import type { HttpResult } from './http-client-connection.js';
import { answeringBackend } from './http-response-reader.js';
import type { Outcome } from './types.js';

export function httpOutcome(result: HttpResult, latencyMs: number): Outcome {
  if (!result.ok) return result;
  const { response } = result;
  const backend = answeringBackend(response);
  if (response.status >= 200 && response.status < 300) return { ok: true, latencyMs, backend };
  return { ok: false, failure: statusFailure(response.status, `HTTP ${response.status}${backend ? ` from ${backend}` : ''}`) };
}
