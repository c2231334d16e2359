// Header rules (`headers:` on a frontend and on a route): set and remove, on the request
// and on the response, with ${variables}. Templates are compiled once per config into
// literal and variable parts, so a request pays a few string concatenations.
import type { HeaderOps, HeaderRules } from '../config/types.js';
import type { TlsInfo } from '../tls/connection-info.js';

export interface RuleVars {
  generation: number;
  pid: number;
  frontend: string;
  route: string;
  backend: string;
  server: string;
  clientAddress: string;
  requestId: string;
  requestStart: number;
  /** TLS (issue 11): empty strings on a plain connection. */
  tls: TlsInfo;
}

type Part = string | ((v: RuleVars) => string);

const VARIABLES: Readonly<Record<string, (v: RuleVars) => string>> = {
  generation: (v) => String(v.generation),
  'worker.pid': (v) => String(v.pid),
  frontend: (v) => v.frontend,
  route: (v) => v.route,
  backend: (v) => v.backend,
  server: (v) => v.server,
  'client.address': (v) => v.clientAddress,
  'request.id': (v) => v.requestId,
  'request.start': (v) => String(v.requestStart),
  'tls.sni': (v) => v.tls.sni,
  'tls.version': (v) => v.tls.version,
  'tls.client.subject': (v) => v.tls.clientSubject,
};

function compileTemplate(template: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of template.matchAll(/\$\{([a-z.]+)\}/g)) {
    if (m.index > last) parts.push(template.slice(last, m.index));
    const fn = VARIABLES[m[1]!];
    // The config loader rejects unknown variables; keep the text if one slips through.
    parts.push(fn ?? m[0]);
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  return parts;
}

export class CompiledOps {
  /** Lower-cased names that are removed or replaced (a set value replaces any received one). */
  readonly drop: ReadonlySet<string>;
  private readonly set: readonly { name: string; parts: Part[] }[];

  constructor(ops: readonly HeaderOps[]) {
    const drop = new Set<string>();
    const set: { name: string; parts: Part[] }[] = [];
    for (const o of ops) {
      for (const name of o.remove) {
        drop.add(name.toLowerCase());
        // A later remove cancels an earlier set of the same header.
        for (let i = set.length - 1; i >= 0; i--) if (set[i]!.name.toLowerCase() === name.toLowerCase()) set.splice(i, 1);
      }
      for (const [name, template] of o.set) {
        drop.add(name.toLowerCase());
        for (let i = set.length - 1; i >= 0; i--) if (set[i]!.name.toLowerCase() === name.toLowerCase()) set.splice(i, 1);
        set.push({ name, parts: compileTemplate(template) });
      }
    }
    this.drop = drop;
    this.set = set;
  }

  get empty(): boolean {
    return this.set.length === 0 && this.drop.size === 0;
  }

  /** "Name: value\r\n" lines for the set rules. */
  render(vars: RuleVars): string {
    let out = '';
    for (const s of this.set) {
      let value = '';
      for (const p of s.parts) value += typeof p === 'string' ? p : p(vars);
      // A variable can carry a client-controlled value: never let it break the head.
      out += `${s.name}: ${value.replace(/[\r\n\0]/g, '')}\r\n`;
    }
    return out;
  }
}

export interface CompiledRules {
  readonly request: CompiledOps;
  readonly response: CompiledOps;
}

/** Frontend rules first, then the route's (a route's set wins over the frontend's). */
export function compileRules(...rules: (HeaderRules | undefined)[]): CompiledRules {
  const present = rules.filter((r): r is HeaderRules => r !== undefined);
  return {
    request: new CompiledOps(present.map((r) => r.request)),
    response: new CompiledOps(present.map((r) => r.response)),
  };
}
