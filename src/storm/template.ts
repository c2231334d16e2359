// Templates: the user's config files and commands with placeholders that storm fills in.
//   ${backend.NAME}       HOST:PORT of backend NAME (started by storm unless --backend names it)
//   ${backend.NAME.port}  its port alone
//   ${port.NAME}          a free loopback port picked by storm, the same in every template
//   ${storm.dir}          storm's work folder (rendered configs, pid files, the target's log)
//   ${storm.template-dir} the folder of the template (for relative paths in it)
// Commands also take {config} (the rendered config file), {dir} (the work folder) and
// {pidfile} ({dir}/target.pid). Any other ${...} is left alone: handoff's own header
// variables (${generation}, ${server}) look the same.
import { HandoffError } from '../lib/errors.js';

const PLACEHOLDER = /\$\{(backend|port|storm)\.([A-Za-z0-9_-]+)(\.port)?\}/g;

export interface TemplateValues {
  readonly backends: ReadonlyMap<string, { readonly host: string; readonly port: number }>;
  readonly ports: ReadonlyMap<string, number>;
  readonly dir: string;
  readonly templateDir: string;
}

export interface Placeholders {
  readonly backends: ReadonlySet<string>;
  readonly ports: ReadonlySet<string>;
}

/** The backend and port names a text refers to. */
export function placeholdersIn(text: string): Placeholders {
  const backends = new Set<string>();
  const ports = new Set<string>();
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m[1] === 'backend') backends.add(m[2]!);
    else if (m[1] === 'port') ports.add(m[2]!);
  }
  return { backends, ports };
}

/** Fill in every storm placeholder; an unknown name is an error (a typo would otherwise reach the proxy). */
export function renderTemplate(text: string, values: TemplateValues, what: string): string {
  return text.replace(PLACEHOLDER, (whole, space: string, name: string, portSuffix: string | undefined) => {
    if (space === 'backend') {
      const b = values.backends.get(name);
      if (!b) throw unknown(what, whole);
      if (portSuffix) return String(b.port);
      return b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`;
    }
    if (portSuffix) throw unknown(what, whole);
    if (space === 'port') {
      const p = values.ports.get(name);
      if (p === undefined) throw unknown(what, whole);
      return String(p);
    }
    if (name === 'dir') return values.dir;
    if (name === 'template-dir') return values.templateDir;
    throw unknown(what, whole);
  });
}

export interface CommandValues extends TemplateValues {
  readonly config: string;
  readonly pidFile: string;
}

/** A command line: the template placeholders plus {config}, {dir}, {pidfile}. */
export function renderCommand(command: string, values: CommandValues, what: string): string {
  return renderTemplate(command, values, what).replace(/\{(config|dir|pidfile)\}/g, (_w, key: string) =>
    key === 'config' ? values.config : key === 'dir' ? values.dir : values.pidFile,
  );
}

function unknown(what: string, placeholder: string): HandoffError {
  return new HandoffError('HANDOFF_ERR_CONFIG', 'config', `${what}: unknown placeholder ${placeholder}`);
}
