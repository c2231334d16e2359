// The deployment recipes in deploy/ checked as far as this machine can: no container engine
// and no systemd as PID 1 run here, so the Kubernetes manifests are parsed and checked for
// consistency with the config they embed (stop deadline, probes, mounts, ports), the
// Dockerfile is linted for what a graceful stop and a health check need, the container's
// health check script runs for real against a real HTTP server, and the systemd unit goes
// through `systemd-analyze verify` when that tool is installed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { KILL_GRACE_MS } from '../../src/master/generation.js';
import { freePort } from '../helpers/net.js';
import { repoRoot } from '../helpers/paths.js';
import { handoffRun, stopAll } from '../helpers/processes.js';

const deploy = join(repoRoot, 'deploy');
const temps: string[] = [];
after(async () => {
  await stopAll();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** Seconds a graceful stop may take at most: accept grace, then the drain, then the kill grace. */
function stopSeconds(drain: { timeout: number; acceptGrace: number }): number {
  return (drain.acceptGrace + drain.timeout + KILL_GRACE_MS) / 1000;
}
/** What the master itself needs after the last worker is gone (close sockets, exit). */
const MARGIN_S = 1;

/** `handoff check` (the real CLI) on a config text; the parsed config from the same loader. */
async function checked(text: string, name: string): Promise<Config> {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-recipe-'));
  temps.push(dir);
  const file = join(dir, 'handoff.yaml');
  writeFileSync(file, text);
  const r = await handoffRun(['check', '-f', file]);
  assert.equal(r.code, 0, `${name} fails handoff check:\n${r.stderr}`);
  assert.equal(r.stderr, '', `${name}: warnings from handoff check`);
  const loaded = await loadConfigText(text, file, dir);
  assert.ok(loaded.ok);
  return loaded.config;
}

// ---- Kubernetes -------------------------------------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML manifests are walked by path; each test asserts the shape it reads.
type K8s = Record<string, any>;

function manifests(): K8s[] {
  const dir = join(deploy, 'kubernetes');
  const out: K8s[] = [];
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, name), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${name} parses`);
      if (doc.contents !== null) out.push(doc.toJS() as K8s);
    }
  }
  return out;
}

function one(all: K8s[], kind: string): K8s {
  const found = all.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
}

test('kubernetes: the ConfigMap config passes handoff check; the grace period covers the whole stop; probes, mounts and ports agree', async () => {
  const all = manifests();
  const cm = one(all, 'ConfigMap');
  const deployment = one(all, 'Deployment');
  const service = one(all, 'Service');
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers as K8s[];
  assert.ok(container);

  // The config file the container runs: -f PATH in a mount of this ConfigMap (whole folder).
  const args = container.args as string[];
  assert.ok(args.includes('start') && args.includes('--watch'), 'handoff start --watch');
  const file = args[args.indexOf('-f') + 1]!;
  const configVolume = (pod.volumes as K8s[]).find((v) => v.configMap?.name === cm.metadata.name);
  assert.ok(configVolume, 'a volume of the ConfigMap');
  const configMount = (container.volumeMounts as K8s[]).find((m) => m.name === configVolume.name)!;
  assert.equal(configMount.subPath, undefined, 'no subPath: a subPath mount never sees ConfigMap updates');
  assert.equal(posix.dirname(file), configMount.mountPath);
  const text = cm.data[posix.basename(file)] as string;
  assert.ok(text, `the ConfigMap has the key ${posix.basename(file)}`);
  const config = await checked(text, 'the ConfigMap');

  // Stop deadline.
  const needed = stopSeconds(config.drain);
  assert.ok(
    pod.terminationGracePeriodSeconds >= needed + MARGIN_S,
    `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} < accept_grace + drain.timeout + kill grace (${needed} s) + ${MARGIN_S} s`,
  );
  assert.ok(config.drain.acceptGrace > 0, 'accept_grace covers the endpoint lag');

  // Probes on the stats listener, reachable from the kubelet (the pod IP).
  assert.ok(config.stats, 'a stats listener');
  assert.ok(['0.0.0.0', '::'].includes(config.stats.bind.host), `stats binds the pod's addresses, not ${config.stats.bind.host}`);
  const portNumber = (p: string | number) =>
    typeof p === 'number' ? p : (container.ports as K8s[]).find((x) => x.name === p)?.containerPort;
  assert.equal(container.readinessProbe.httpGet.path, '/ready');
  assert.equal(container.livenessProbe.httpGet.path, '/live');
  assert.equal(portNumber(container.readinessProbe.httpGet.port), config.stats.bind.port);
  assert.equal(portNumber(container.livenessProbe.httpGet.port), config.stats.bind.port);

  // The control socket in a writable emptyDir (the ConfigMap volume is read-only).
  const controlMount = (container.volumeMounts as K8s[]).find((m) => config.control.startsWith(`${m.mountPath}/`));
  assert.ok(controlMount && !controlMount.readOnly, `a writable mount holds ${config.control}`);
  assert.ok((pod.volumes as K8s[]).find((v) => v.name === controlMount.name)?.emptyDir, 'the control folder is an emptyDir');

  // The Service reaches a frontend's port on the pods of this Deployment.
  for (const [k, v] of Object.entries(service.spec.selector as Record<string, string>))
    assert.equal(deployment.spec.template.metadata.labels[k], v);
  const bindPorts = config.frontends.flatMap((f) => f.binds.map((b) => b.port));
  for (const p of service.spec.ports as K8s[])
    assert.ok(bindPorts.includes(portNumber(p.targetPort)), `Service port ${p.name} targets a frontend`);

  // Non-root, verifiable by the kubelet (a numeric user).
  const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
  assert.ok(Number.isInteger(user) && user > 0);
});

// ---- container image --------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions (comments dropped, continuation lines joined). */
function dockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const m = /^(\S+)\s+(.*)$/.exec(full)!;
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  return out;
}

function execForm(args: string): string[] | undefined {
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

test('container: slim base, production dependencies, numeric non-root user, exec-form ENTRYPOINT, STOPSIGNAL SIGTERM, HEALTHCHECK on /ready, a stop timeout that covers the drain', async () => {
  const path = join(deploy, 'container', 'Dockerfile');
  const text = readFileSync(path, 'utf8');
  const all = dockerfile(text);
  const lastFrom = all.map((i) => i.op).lastIndexOf('FROM');
  const final = all.slice(lastFrom);
  const get = (op: string) => final.filter((i) => i.op === op);

  for (const from of all.filter((i) => i.op === 'FROM')) assert.match(from.args, /-slim\b/, `small base image: ${from.args}`);
  assert.ok(
    get('RUN').some((r) => /npm ci\b.*--omit=dev/.test(r.args)),
    'npm ci --omit=dev in the runtime image',
  );
  assert.ok(
    all.slice(0, lastFrom).some((i) => i.op === 'RUN' && /\btsc\b/.test(i.args)),
    'the build stage compiles',
  );

  const users = get('USER');
  assert.equal(users.length, 1);
  const uid = users[0]!.args.split(':')[0]!;
  assert.match(uid, /^\d+$/, 'numeric (runAsNonRoot can verify it)');
  assert.notEqual(Number(uid), 0);

  const entrypoint = execForm(get('ENTRYPOINT')[0]?.args ?? '');
  assert.ok(entrypoint, 'ENTRYPOINT in exec form: the master is PID 1 and gets the signals');
  const cmd = execForm(get('CMD')[0]?.args ?? '');
  assert.ok(cmd, 'CMD in exec form');
  assert.deepEqual(cmd, ['start', '--watch', '-f', '/etc/handoff/handoff.yaml']);
  assert.equal(get('STOPSIGNAL')[0]?.args, 'SIGTERM');

  const health = get('HEALTHCHECK')[0]?.args ?? '';
  const hcCmd = execForm(health.slice(health.indexOf('CMD') + 3).trim());
  assert.ok(hcCmd, 'HEALTHCHECK CMD in exec form');
  const script = hcCmd.find((a) => a.endsWith('.mjs'))!;
  const copied = get('COPY').find((c) => c.args.endsWith(` ${script}`) || c.args.endsWith(` .${script.slice('/opt/handoff'.length)}`));
  assert.ok(copied, `the health check script ${script} is copied into the image`);

  // Every COPY from the build context exists and is let through the .dockerignore.
  const ignore = readFileSync(join(deploy, 'container', 'Dockerfile.dockerignore'), 'utf8');
  for (const c of all.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
    const sources = c.args.split(/\s+/).slice(0, -1);
    for (const s of sources) {
      assert.ok(existsSync(join(repoRoot, s)), `COPY source ${s} exists`);
      assert.ok(ignore.includes(`!${s}`), `${s} is not ignored`);
    }
  }

  // The example config: passes check; its stop fits the documented --stop-timeout; the
  // health check URL is its stats listener; the control socket is in the writable folder.
  const config = await checked(readFileSync(join(deploy, 'container', 'handoff.yaml'), 'utf8'), 'deploy/container/handoff.yaml');
  const stopTimeout = Number(/--stop-timeout (\d+)/.exec(text)?.[1]);
  assert.ok(
    stopTimeout >= stopSeconds(config.drain) + MARGIN_S,
    `--stop-timeout ${stopTimeout} covers the stop (${stopSeconds(config.drain)} s)`,
  );
  assert.ok(stopTimeout > 10, "Docker's default 10 s is too short: the recipe must say so");
  const url = new URL(/HANDOFF_HEALTH_URL=(\S+)/.exec(text)![1]!);
  assert.equal(url.pathname, '/ready');
  assert.equal(Number(url.port), config.stats?.bind.port);
  assert.equal(dirname(config.control), '/run/handoff');
  assert.match(text, /chown 1000:1000 \/run\/handoff/);
});

test('container: the health check script exits 0 on 200 and 1 on 503, on a refused connection and on a silent server', async () => {
  let status = 200;
  const silent = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    if (req.url === '/silent') {
      silent.add(req.socket);
      return;
    }
    res.writeHead(req.url === '/ready' ? status : 404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const script = join(deploy, 'container', 'healthcheck.mjs');
  const run = async (url: string) => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, HANDOFF_HEALTH_URL: url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    return { code, err };
  };
  try {
    assert.equal((await run(`http://127.0.0.1:${port}/ready`)).code, 0);
    status = 503;
    const r503 = await run(`http://127.0.0.1:${port}/ready`);
    assert.equal(r503.code, 1);
    assert.match(r503.err, /status 503/);
    const refused = await run(`http://127.0.0.1:${await freePort()}/ready`);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /ECONNREFUSED/);
    const quiet = await run(`http://127.0.0.1:${port}/silent`);
    assert.equal(quiet.code, 1);
    assert.match(quiet.err, /no answer within/);
  } finally {
    for (const s of silent) s.destroy();
    server.close();
  }
});

// ---- systemd ----------------------------------------------------------------------------------

const unitPath = join(deploy, 'systemd', 'handoff.service');

function unitValues(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

test('systemd: graceful stop under KillMode=mixed within TimeoutStopSec, reload by handoff reload, hardened', () => {
  const v = unitValues(readFileSync(unitPath, 'utf8'));
  const only = (k: string) => {
    const x = v.get(k);
    assert.equal(x?.length, 1, `one ${k}=`);
    return x[0]!;
  };
  assert.equal(only('KillMode'), 'mixed');
  assert.equal(only('KillSignal'), 'SIGTERM');
  const timeout = Number(/^(\d+)s?$/.exec(only('TimeoutStopSec'))?.[1]);
  const needed = stopSeconds({ timeout: DEFAULTS.drain.timeout, acceptGrace: DEFAULTS.drain.acceptGrace });
  assert.ok(timeout >= needed + MARGIN_S, `TimeoutStopSec ${timeout} covers the default stop (${needed} s)`);
  assert.match(only('ExecStart'), /handoff start -f \/etc\/handoff\/handoff\.yaml$/);
  assert.match(only('ExecReload'), /handoff reload -f \/etc\/handoff\/handoff\.yaml$/);
  assert.equal(only('RuntimeDirectory'), 'handoff');
  assert.equal(only('ProtectSystem'), 'strict');
  assert.equal(only('NoNewPrivileges'), 'yes');
  assert.notEqual(only('User'), 'root');
  assert.match(only('LimitNOFILE'), /^\d+$/);
});

test('systemd: systemd-analyze verify finds nothing to say about the unit', {
  skip: spawnSync('systemd-analyze', ['--version']).error ? 'systemd-analyze is not installed (apt-get install systemd)' : false,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-unit-'));
  temps.push(dir);
  // verify checks that the binaries exist: point them at this checkout's bin/handoff.js.
  const verify = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, name)], { encoding: 'utf8', timeout: 60_000 });
  };
  const unit = readFileSync(unitPath, 'utf8').replaceAll('/usr/local/bin/handoff', join(repoRoot, 'bin', 'handoff.js'));
  const r = verify('handoff.service', unit);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  // The check can fail: a misspelt setting is reported (verify still exits 0 for those).
  const broken = verify('handoff-broken.service', unit.replace('KillMode=mixed', 'KillMode=mixd'));
  assert.match(broken.stderr, /kill mode/i);
});
