// N keep-alive clients, each sending requests one after another on its connection, with
// no retries: every failed request is counted by kind. A connection the server closed
// cleanly between requests (or announced with Connection: close) is replaced without
// counting anything, as any HTTP client would; a request that was sent and got no
// response (reset, EOF, timeout) or got a non-200 is a failure.
import { KeepAliveClient, type FailureKind } from './keep-alive-client.js';
import { delay } from './ports.js';

export interface FleetResult {
  readonly clients: number;
  readonly requests: number;
  readonly ok: number;
  readonly failures: Readonly<Record<FailureKind, number>>;
  readonly failed: number;
  /** New connections opened after the first one of each client. */
  readonly reconnects: number;
  /** Statuses of the non-200 responses, with counts. */
  readonly statuses: Readonly<Record<string, number>>;
}

export interface RunningFleet {
  stop(): Promise<FleetResult>;
}

export function startClientFleet(port: number, clients: number, requestTimeoutMs = 5_000): RunningFleet {
  const failures: Record<FailureKind, number> = { refused: 0, reset: 0, eof: 0, timeout: 0, status: 0, error: 0 };
  const statuses: Record<string, number> = {};
  let requests = 0;
  let ok = 0;
  let reconnects = 0;
  let stopped = false;
  const loop = async () => {
    let client: KeepAliveClient | undefined;
    let opened = 0;
    while (!stopped) {
      if (!client?.usable) {
        client?.destroy();
        client = undefined;
        try {
          client = await KeepAliveClient.open(port, requestTimeoutMs);
          if (opened++ > 0) reconnects++;
        } catch (err) {
          requests++;
          failures[(err as { kind?: FailureKind }).kind ?? 'error']++;
          await delay(10); // a refused connect must not spin the loop
          continue;
        }
      }
      const o = await client.request('/', requestTimeoutMs);
      requests++;
      if (o.ok) ok++;
      else {
        failures[o.failure ?? 'error']++;
        if (o.status !== undefined) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
      }
    }
    client?.destroy();
  };
  const all = Promise.all(Array.from({ length: clients }, loop));
  return {
    async stop() {
      stopped = true;
      await all;
      return { clients, requests, ok, failures, failed: requests - ok, reconnects, statuses };
    },
  };
}
