// A strict parser of the Prometheus text exposition format (0.0.4), enough to check what
// /metrics serves: every sample belongs to a family announced by # HELP and # TYPE, sample
// names fit the family's type (histograms: _bucket with le, _sum, _count), and values parse.
import assert from 'node:assert/strict';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly samples: Sample[];
}

export interface Exposition {
  readonly families: Map<string, Family>;
  /** Every sample by its series key: name{label="value",...} with labels sorted. */
  readonly series: Map<string, number>;
}

export function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const l = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
    .join(',');
  return `${name}{${l}}`;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    assert.ok(m, `bad labels: {${text}}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    pos = re.lastIndex;
  }
  return labels;
}

export function parseExposition(text: string): Exposition {
  const families = new Map<string, Family>();
  const series = new Map<string, number>();
  let current: Family | undefined;
  const helps = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const rest = line.slice('# HELP '.length);
      const sp = rest.indexOf(' ');
      helps.set(rest.slice(0, sp), rest.slice(sp + 1));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      assert.ok(NAME.test(name!), `bad metric name ${name}`);
      assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type!), `bad type in: ${line}`);
      assert.ok(!families.has(name!), `family ${name} announced twice`);
      current = { name: name!, type: type as MetricType, help: helps.get(name!) ?? '', samples: [] };
      families.set(name!, current);
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment: ${line}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `bad sample line: ${line}`);
    const [, name, labelText, valueText] = m;
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    assert.ok(!Number.isNaN(value), `bad value in: ${line}`);
    assert.ok(current, `sample before any # TYPE: ${line}`);
    const base = current.name;
    if (current.type === 'histogram') {
      assert.ok([`${base}_bucket`, `${base}_sum`, `${base}_count`].includes(name!), `${name} does not belong to histogram ${base}`);
    } else {
      assert.equal(name, base, `sample ${name} under the # TYPE of ${base}`);
    }
    const labels = parseLabels(labelText ?? '');
    if (name === `${base}_bucket`) assert.ok('le' in labels, `bucket without le: ${line}`);
    const key = seriesKey(name!, labels);
    assert.ok(!series.has(key), `series twice: ${key}`);
    series.set(key, value);
    current.samples.push({ name: name!, labels, value });
  }
  return { families, series };
}

/** Series that must never go back: counters, and histograms' buckets, sums and counts. */
export function monotonicSeries(e: Exposition): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of e.families.values()) {
    if (f.type !== 'counter' && f.type !== 'histogram') continue;
    for (const s of f.samples) out.set(seriesKey(s.name, s.labels), s.value);
  }
  return out;
}

/** The sum of a family's samples whose labels include `match`. */
export function sumOf(e: Exposition, name: string, match: Record<string, string> = {}): number {
  let n = 0;
  for (const f of e.families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) n += s.value;
    }
  }
  return n;
}
