// Before anything runs: read the templates, fill them in, and work out where the load goes,
// who may answer it before and after the config-next reload, and what the new-route phase
// probes. For handoff the rendered config is loaded with handoff's own loader (so a bad
// template fails here with file:line:col); for other proxies the command-line options say it.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { formatIssue, loadConfig } from '../config/load.js';
import type { Config, SocketAddress } from '../config/types.js';
import { HandoffError } from '../lib/errors.js';
import { KILL_GRACE_MS } from '../master/generation.js';
import type { StormBackends } from './backends.js';
import { freeLoopbackPort } from './free-ports.js';
import { isLoopbackHost, loopbackAddress } from './loopback.js';
import { commandRouting, commandTargets, handoffRouting, handoffTargets, newHandoffTargets } from './routing.js';
import { placeholdersIn, renderCommand, renderTemplate, type TemplateValues } from './template.js';
import type { LoadTarget, Routing, StormOptions } from './types.js';
import type { RenderedCommands } from './command-target.js';

export interface Templates {
  readonly current: string | undefined;
  readonly next: string | undefined;
  /** Every backend name any template or command refers to. */
  readonly backendNames: ReadonlySet<string>;
  readonly portNames: ReadonlySet<string>;
}

export interface StormPlan {
  readonly configFile: string;
  readonly nextText: string | undefined;
  readonly frontends: readonly SocketAddress[];
  readonly targets: readonly LoadTarget[];
  readonly routing: Routing;
  /** Routing after the config-next reload (load targets and probe targets). */
  readonly nextRouting: Routing | undefined;
  readonly probeTargets: readonly LoadTarget[];
  readonly drainDeadlineMs: number;
  readonly target:
    | { readonly kind: 'handoff'; readonly control: string }
    | { readonly kind: 'command'; readonly commands: RenderedCommands };
}

function readTemplate(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new HandoffError('HANDOFF_ERR_CONFIG', 'config', `${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}

export function readTemplates(options: StormOptions): Templates {
  const t = options.target;
  const templatePath = t.template;
  const current = templatePath === undefined ? undefined : readTemplate(templatePath, t.kind === 'handoff' ? '-f' : '--config');
  const next = options.configNext === undefined ? undefined : readTemplate(options.configNext, '--config-next');
  const texts = [current ?? '', next ?? ''];
  if (t.kind === 'command') {
    texts.push(t.start, t.stop ?? '', ...t.frontends, 'command' in t.reload ? t.reload.command : t.reload.pidFile);
  }
  const backendNames = new Set<string>(Object.keys(options.backends));
  const portNames = new Set<string>();
  for (const text of texts) {
    const p = placeholdersIn(text);
    for (const b of p.backends) backendNames.add(b);
    for (const n of p.ports) portNames.add(n);
  }
  if (options.probeBackend !== undefined) backendNames.add(options.probeBackend);
  for (const r of options.routes) for (const b of r.backends) backendNames.add(b);
  return { current, next, backendNames, portNames };
}

async function loadRendered(file: string, what: string): Promise<Config> {
  const result = await loadConfig(file);
  if (!result.ok)
    throw new HandoffError(
      'HANDOFF_ERR_CONFIG',
      'config',
      `${what} (rendered to ${file}) is not a valid handoff config:\n${result.errors.map(formatIssue).join('\n')}`,
    );
  return result.config;
}

function httpBinds(config: Config, what: string): SocketAddress[] {
  const binds = config.frontends.filter((f) => f.mode === 'http').flatMap((f) => f.binds);
  for (const b of binds) {
    if (!isLoopbackHost(b.host))
      throw new HandoffError(
        'HANDOFF_ERR_CONFIG',
        'config',
        `${what}: frontend bind ${b.key} is not a loopback address; storm only runs targets on 127.0.0.0/8 or [::1]`,
      );
  }
  if (binds.length === 0) throw new HandoffError('HANDOFF_ERR_CONFIG', 'config', `${what}: no HTTP frontend to send load to`);
  return binds;
}

export async function makePlan(options: StormOptions, templates: Templates, backends: StormBackends, dir: string): Promise<StormPlan> {
  const ports = new Map<string, number>();
  for (const name of [...templates.portNames].sort()) ports.set(name, await freeLoopbackPort());
  const t = options.target;
  const templatePath = t.template;
  const values: TemplateValues = {
    backends: backends.addresses,
    ports,
    dir,
    templateDir: templatePath ? dirname(resolve(templatePath)) : dir,
  };
  const ext = templatePath ? extname(templatePath) : '.conf';
  const configFile = join(dir, `config${ext || '.conf'}`);
  const nextFile = join(dir, `config-next${ext || '.conf'}`);
  const currentText =
    templates.current === undefined ? '' : renderTemplate(templates.current, values, t.kind === 'handoff' ? '-f' : '--config');
  const nextText = templates.next === undefined ? undefined : renderTemplate(templates.next, values, '--config-next');
  writeFileSync(configFile, currentText);
  if (nextText !== undefined) writeFileSync(nextFile, nextText);

  if (t.kind === 'handoff') {
    const config = await loadRendered(configFile, t.template);
    const frontends = httpBinds(config, t.template);
    const targets = handoffTargets(config);
    const routing = handoffRouting(config, targets, backends);
    let drainDeadlineMs = config.drain.timeout + KILL_GRACE_MS;
    let nextRouting: Routing | undefined;
    let probeTargets: LoadTarget[] = [];
    if (nextText !== undefined) {
      const next = await loadRendered(nextFile, options.configNext!);
      const nextFrontends = httpBinds(next, options.configNext!);
      const known = new Set(frontends.map((f) => f.key));
      const added = nextFrontends.filter((f) => !known.has(f.key));
      if (added.length > 0)
        throw new HandoffError(
          'HANDOFF_ERR_CONFIG',
          'config',
          `--config-next: adds the listener ${added.map((a) => a.key).join(', ')}; storm samples the first config's addresses, so the new route must be on one of them`,
        );
      probeTargets = newHandoffTargets(config, next, backends, options.probeHost);
      if (probeTargets.length === 0) {
        throw new HandoffError(
          'HANDOFF_ERR_CONFIG',
          'config',
          `--config-next: ${options.probeHost ? `routes ${options.probeHost} nowhere` : 'routes no host differently from the first config'}; nothing for the new-route phase to probe`,
        );
      }
      if (options.probeBackend !== undefined) {
        const only = new Set([options.probeBackend]);
        nextRouting = new Map(
          [...handoffRouting(next, [...targets, ...probeTargets], backends)].map(([k, v]) => [
            k,
            probeTargets.some((p) => p.key === k) ? only : v,
          ]),
        );
      } else {
        nextRouting = handoffRouting(next, [...targets, ...probeTargets], backends);
      }
      drainDeadlineMs = Math.max(drainDeadlineMs, next.drain.timeout + KILL_GRACE_MS);
    }
    return {
      configFile,
      nextText,
      frontends,
      targets,
      routing,
      nextRouting,
      probeTargets,
      drainDeadlineMs,
      target: { kind: 'handoff', control: config.control },
    };
  }

  const frontends = t.frontends.map((f, i) => loopbackAddress(renderTemplate(f, values, `--frontend #${i + 1}`), '--frontend'));
  const targets = commandTargets(frontends, options.routes);
  const referenced = (text: string | undefined) =>
    new Set([...placeholdersIn(text ?? '').backends].filter((b) => backends.addresses.has(b)));
  const routing = commandRouting(targets, options.routes, referenced(templates.current));
  let nextRouting: Routing | undefined;
  let probeTargets: LoadTarget[] = [];
  if (nextText !== undefined) {
    if (options.probeHost === undefined)
      throw new HandoffError('HANDOFF_ERR_CONFIG', 'config', '--config-next needs --probe-host HOST: the host name the next config adds');
    let probeBackend = options.probeBackend;
    if (probeBackend === undefined) {
      const before = referenced(templates.current);
      const added = [...referenced(templates.next)].filter((b) => !before.has(b));
      if (added.length !== 1)
        throw new HandoffError(
          'HANDOFF_ERR_CONFIG',
          'config',
          `--config-next: cannot tell the new backend (${added.length === 0 ? 'no ${backend.NAME} that the first config lacks' : `several: ${added.join(', ')}`}); name it with --probe-backend`,
        );
      probeBackend = added[0]!;
    }
    probeTargets = commandTargets(frontends, [{ host: options.probeHost, backends: [probeBackend] }]);
    nextRouting = commandRouting([...targets, ...probeTargets], options.routes, referenced(templates.next), {
      host: options.probeHost,
      backends: new Set([probeBackend]),
    });
  }
  const cmd = { ...values, config: configFile, pidFile: join(dir, 'target.pid') };
  const reload =
    'command' in t.reload
      ? { command: renderCommand(t.reload.command, cmd, '--reload') }
      : { signal: t.reload.signal, pidFile: renderCommand(t.reload.pidFile, cmd, '--pid-file') };
  const commands: RenderedCommands = {
    start: renderCommand(t.start, cmd, '--start'),
    reload,
    ...(t.stop === undefined ? {} : { stop: renderCommand(t.stop, cmd, '--stop') }),
  };
  return {
    configFile,
    nextText,
    frontends,
    targets,
    routing,
    nextRouting,
    probeTargets,
    drainDeadlineMs: t.drainDeadlineMs,
    target: { kind: 'command', commands },
  };
}
