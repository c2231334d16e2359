#!/usr/bin/env node
// Fails (exit 1) on an import cycle among src/ modules, or on a lower layer importing a
// higher one. Reads the TypeScript sources directly (type-only imports count: a cycle of
// types is still two modules that cannot be understood apart). Dependency-free on purpose.
//
// Layers, lowest first: a module may import its own layer and lower ones only.
//   lib → config, tls → protocol, observe, backend → worker, master, doctor, echo, storm → demo, cli
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// An optional argument names another source folder (the test proves a cycle is caught).
const src = process.argv[2] ? resolve(process.argv[2]) : join(root, 'src');
const LAYER = {
  lib: 0,
  config: 1,
  // Certificates and TLS contexts: read and checked by config at load, compiled by workers.
  tls: 1,
  protocol: 2,
  observe: 2,
  backend: 2,
  worker: 3,
  master: 3,
  doctor: 3,
  echo: 3,
  storm: 3,
  demo: 4,
  cli: 4,
};

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
const graph = new Map();
for (const file of files(src)) {
  const text = readFileSync(file, 'utf8');
  const deps = new Set();
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    deps.add(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
  }
  graph.set(
    file,
    [...deps].filter((d) => d.startsWith(src)),
  );
}

const name = (f) => relative(dirname(src), f);
const layerOf = (f) => LAYER[relative(src, f).split('/')[0]] ?? 0;
const problems = [];
for (const [file, deps] of graph) {
  for (const d of deps) {
    if (!graph.has(d)) problems.push(`${name(file)}: imports ${name(d)}, which does not exist`);
    else if (layerOf(d) > layerOf(file)) problems.push(`${name(file)}: a lower layer imports a higher one (${name(d)})`);
  }
}

// Cycles: depth-first search with colours; report each cycle once.
const colour = new Map();
const stack = [];
const seen = new Set();
function visit(f) {
  colour.set(f, 1);
  stack.push(f);
  for (const d of graph.get(f) ?? []) {
    if (!graph.has(d)) continue;
    if (colour.get(d) === 1) {
      const cycle = stack.slice(stack.indexOf(d)).map(name);
      const key = [...cycle].sort().join(' ');
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`import cycle: ${[...cycle, name(d)].join(' → ')}`);
      }
    } else if (!colour.has(d)) visit(d);
  }
  stack.pop();
  colour.set(f, 2);
}
for (const f of graph.keys()) if (!colour.has(f)) visit(f);

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`imports: ${graph.size} modules, no cycle, layers respected`);
