// Worker process entry point: `node dist/src/worker/main.js --generation N --master PID`
// (that command line is what `handoff doctor` recognises). Started by the master with an
// IPC channel; everything arrives over it: the config, the listening sockets, health,
// drain orders, migrated connections. The worker's life:
//
//   waiting-init ──init──▶ receiving-listeners ──all listening──▶ active ──drain──▶ draining ──▶ exit
//                                 └──────────── any failure: 'failed' + exit(1)
//
// While active, live applies (prepare → commit | abort, see config-apply.ts) change the
// config in place: the phase does not change and no connection is touched.
//
// If the master goes away (the IPC channel closes: it was killed), the worker drains
// without migration and exits by the drain deadline: a killed master leaves no orphans.
import type { Config } from '../config/types.js';
import { closeHandle, isTcpHandle, type TcpHandle } from '../lib/node-handles.js';
import { droppedLines } from '../observe/line-sink.js';
import { createLogger } from '../observe/logger.js';
import { parseMasterMessage, type MasterMessage, type WorkerMessage } from '../protocol/ipc.js';
import { ListenerRequests } from './listener-requests.js';
import { Migrator } from './migrate.js';
import { WorkerRuntime } from './runtime.js';

type Phase = 'waiting-init' | 'receiving-listeners' | 'active' | 'draining' | 'exiting';

const generationArg = Number(process.argv[process.argv.indexOf('--generation') + 1] ?? 0);
let log = createLogger('worker', { gen: generationArg, pid: process.pid });
let phase: Phase = 'waiting-init';
let runtime: WorkerRuntime | undefined;
let expected: string[] = [];
let listening = 0;
let config: Config | undefined;
let migrator: Migrator | undefined;
let workerIndex = 0;
/** Live applies prepared here and still waiting for their listening sockets. */
const awaitingSockets = new Map<number, Set<string>>();
const listenerRequests = new ListenerRequests((message, done) => send(message, undefined, done));

function send(message: WorkerMessage, handle?: TcpHandle, done?: (err: Error | null) => void): void {
  if (!process.connected || !process.send) {
    done?.(new Error('IPC channel closed'));
    return;
  }
  try {
    process.send(message, handle as never, undefined, (err: Error | null) => done?.(err));
  } catch (err) {
    done?.(err as Error);
  }
}

function fail(error: string): never {
  log.error('worker failed to start', { error });
  send({ type: 'failed', error }, undefined, () => process.exit(1));
  setTimeout(() => process.exit(1), 1000).unref();
  throw new Error(error);
}

async function onListener(key: string, handle: unknown): Promise<void> {
  if (!runtime || !isTcpHandle(handle)) fail(`listener ${key}: no socket handle received`);
  try {
    await runtime.listen(key, handle);
  } catch (err) {
    fail(`listen ${key}: ${(err as Error).message}`);
  }
  if (++listening === expected.length) {
    runtime.activate();
    phase = 'active';
    send({ type: 'ready' });
    log.debug('worker ready', { listeners: expected.length });
  }
}

async function drain(migrate: boolean, deadline: number, sameConfig: boolean): Promise<void> {
  if (!runtime || phase === 'draining' || phase === 'exiting') return;
  phase = 'draining';
  // Stop accepting and stop reading idle connections (all synchronous), confirm to the
  // master, and only then let the migrations go out (see Migrator.hold).
  migrator?.hold();
  const summary = runtime.drain({ migrate, deadline, sameConfig });
  send({ type: 'draining' });
  migrator?.sendHeld();
  const s = await summary;
  phase = 'exiting';
  log.debug('worker drained', { ...s });
  send({ type: 'drained', migrated: s.migrated, closedIdle: s.closedIdle, timedOut: s.timedOut, counters: countersNow() }, undefined, () =>
    exit(0),
  );
  setTimeout(() => exit(0), 500).unref();
}

function prepare(msg: Extract<MasterMessage, { type: 'prepare' }>): void {
  const failPrepare = (error: string) => {
    log.warn('live apply: cannot prepare', { generation: msg.generation, error });
    send({ type: 'prepare-failed', id: msg.id, error });
  };
  if (!runtime || phase !== 'active') {
    failPrepare(`worker is ${phase}`);
    return;
  }
  // Fault injection for the test suite: worker 0 cannot prepare this config generation.
  if (process.env.HANDOFF_FAULT_PREPARE_GENERATION === String(msg.generation) && workerIndex === 0) {
    failPrepare('cannot compile (HANDOFF_FAULT_PREPARE_GENERATION)');
    return;
  }
  try {
    runtime.prepare(msg.id, msg.config, msg.generation, msg.health);
  } catch (err) {
    failPrepare((err as Error).message);
    return;
  }
  if (msg.listeners.length === 0) send({ type: 'prepared', id: msg.id });
  else awaitingSockets.set(msg.id, new Set(msg.listeners));
}

function applyListener(id: number, key: string, handle: unknown): void {
  const waiting = awaitingSockets.get(id);
  if (!runtime || !waiting || !isTcpHandle(handle) || !runtime.addListener(id, key, handle)) {
    if (isTcpHandle(handle)) void closeHandle(handle);
    return;
  }
  waiting.delete(key);
  if (waiting.size > 0) return;
  awaitingSockets.delete(id);
  send({ type: 'prepared', id });
}

async function commit(id: number): Promise<void> {
  if (!runtime) return;
  awaitingSockets.delete(id);
  try {
    await runtime.commit(id);
  } catch (err) {
    log.error('live apply: commit failed', { id, error: (err as Error).message });
    return;
  }
  config = runtime.config;
  // log.format is applied live (another target or buffer is a process reload: reload-kind.ts).
  runtime.ctx.accessLog.setFormat(config.log.format);
  send({ type: 'committed', id, generation: runtime.configGeneration });
}

/** This worker's counters now (runtime must exist). */
function countersNow() {
  return { ...runtime!.counters(), logDropped: { ...droppedLines } };
}

function exit(code: number): void {
  runtime?.stop();
  process.exit(code);
}

function onMessage(raw: unknown, handle: unknown): void {
  const msg: MasterMessage | undefined = parseMasterMessage(raw);
  if (!msg) {
    log.warn('ignoring a malformed message from the master', { message: JSON.stringify(raw)?.slice(0, 200) });
    return;
  }
  switch (msg.type) {
    case 'init': {
      if (phase !== 'waiting-init') return;
      config = msg.config;
      workerIndex = msg.index;
      log = createLogger('worker', { gen: msg.generation, pid: process.pid });
      // Fault injection for the test suite: the workers of this generation crash at start.
      if (process.env.HANDOFF_FAULT_CRASH_GENERATION === String(msg.generation)) {
        log.error('crashing at start (HANDOFF_FAULT_CRASH_GENERATION)');
        process.exit(3);
      }
      migrator = new Migrator(send, process.pid);
      try {
        runtime = new WorkerRuntime({
          config,
          generation: msg.generation,
          configGeneration: msg.configGeneration,
          health: msg.health,
          migrator,
          log,
          reacquireListener: (key) => listenerRequests.request(key),
        });
      } catch (err) {
        fail(`init: ${(err as Error).stack ?? String(err)}`);
      }
      runtime.onHealthChange((change) => {
        if (change.cause.kind === 'passive') send({ type: 'health', change });
      });
      expected = [...msg.listeners];
      phase = 'receiving-listeners';
      if (expected.length === 0) {
        runtime.activate();
        phase = 'active';
        send({ type: 'ready' });
      }
      return;
    }
    case 'listener':
      if (msg.apply !== undefined) applyListener(msg.apply, msg.key, handle);
      else void onListener(msg.key, handle);
      return;
    case 'prepare':
      prepare(msg);
      return;
    case 'commit':
      void commit(msg.id);
      return;
    case 'abort':
      awaitingSockets.delete(msg.id);
      runtime?.abort(msg.id);
      return;
    case 'health':
      runtime?.applyHealth(msg.changes);
      return;
    case 'drain':
      void drain(msg.migrate, msg.deadline, msg.sameConfig);
      return;
    case 'adopt': {
      if (!runtime || !isTcpHandle(handle)) return;
      const unread = Buffer.from(msg.unread, 'base64');
      if (msg.kind === 'http') runtime.adoptHttp(msg.frontend, handle, unread);
      else if (msg.tunnel)
        runtime.adoptTunnelPart(msg.id, msg.kind === 'tunnel-client' ? 'client' : 'server', msg.frontend, handle, msg.tunnel);
      return;
    }
    case 'listener-again': {
      const h = msg.granted && isTcpHandle(handle) ? handle : undefined;
      if (!listenerRequests.answer(msg.key, h) && h) void closeHandle(h);
      return;
    }
    case 'counters?':
      if (runtime) send({ type: 'counters', id: msg.id, counters: countersNow() });
      return;
    case 'reopen-logs':
      reopenLogs();
      return;
    case 'stop':
      exit(0);
  }
}

/** The access log file was rotated: open its path again (stdout and stderr stay as they are). */
function reopenLogs(): void {
  runtime?.ctx.accessLog.reopen((err, file) => {
    if (file === undefined) return;
    if (err) log.error('cannot reopen the access log; lines go on to the old file', { file, error: err.message });
    else log.info('access log reopened', { file });
  });
}

if (!process.send) {
  console.error('handoff worker: must be started by the handoff master (no IPC channel)');
  process.exit(2);
}

process.on('message', onMessage);
process.on('disconnect', () => {
  // The master is gone. Serve what is in flight, then leave by the drain deadline.
  if (phase === 'exiting') return;
  log.warn('master gone: draining and exiting', { phase });
  if (!runtime || phase === 'waiting-init' || phase === 'receiving-listeners') exit(0);
  const timeout = config?.drain.timeout ?? 30_000;
  void drain(false, Date.now() + timeout, false);
});
// SIGTERM/SIGINT come from a terminal's process group (Ctrl-C): the master coordinates the
// stop, so a worker ignores them while its master is alive.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (!process.connected) exit(0);
  });
}
// SIGUSR1 straight to a worker (`systemctl kill -s USR1` signals every process of the unit)
// reopens its log too; without a listener Node would open its inspector instead.
process.on('SIGUSR1', reopenLogs);
process.on('uncaughtException', (err) => {
  log.error('uncaught exception', { error: err.stack ?? String(err) });
  exit(70);
});
