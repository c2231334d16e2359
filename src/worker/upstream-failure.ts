// Why a connection to a server failed, for the access log and the retry (502 or 503), with
// TLS failures counted (handoff_tls_failures_total: server-verify, server-handshake).
import { connectFailureCause } from '../tls/backend-tls.js';
import { countTlsFailure, type TrafficCounters } from './context.js';

export function upstreamFailureCause(err: unknown, counters: TrafficCounters): ReturnType<typeof connectFailureCause> {
  const cause = connectFailureCause(err);
  if (cause === 'tls-verify-failed') countTlsFailure(counters, 'server-verify');
  else if (cause === 'tls-handshake-failed') countTlsFailure(counters, 'server-handshake');
  return cause;
}
