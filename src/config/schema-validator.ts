// Runs the JSON schema (ajv, allErrors) and turns each ajv error into a path, what it points
// at, and a message that says what was expected and what was found.
import { Ajv, type ErrorObject } from 'ajv';
import { describeValue } from './describe-value.js';
import type { PathSegment } from './issue.js';
import { configSchema } from './schema.js';
import { valueKindError, type ValueKind } from './value-kinds.js';
import type { Target } from './yaml-source.js';

export interface SchemaProblem {
  readonly path: PathSegment[];
  readonly target: Target;
  readonly message: string;
}

type Schema = Record<string, unknown>;

function compile() {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
  ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
  const validateKind = function check(kind: ValueKind, data: unknown): boolean {
    const message = valueKindError(kind, data);
    (check as unknown as { errors: Partial<ErrorObject>[] }).errors =
      message === undefined ? [] : [{ keyword: 'x-kind', message, params: {} }];
    return message === undefined;
  };
  ajv.addKeyword({ keyword: 'x-kind', schemaType: 'string', errors: true, validate: validateKind });
  return ajv.compile(configSchema);
}

let validator: ReturnType<typeof compile> | undefined;

/** Every schema problem in the data (empty when it conforms). */
export function validateSchema(data: unknown): SchemaProblem[] {
  validator ??= compile();
  if (validator(data)) return [];
  const out: SchemaProblem[] = [];
  for (const err of validator.errors ?? []) {
    const problem = translate(err, data);
    if (problem) out.push(problem);
  }
  return out;
}

function translate(err: ErrorObject, root: unknown): SchemaProblem | undefined {
  const path = pointerToPath(err.instancePath, root);
  const parent = (err.parentSchema ?? {}) as Schema;
  const got = describeValue(err.data);
  switch (err.keyword) {
    case 'if':
      // Always accompanied by the error of the branch that failed.
      return undefined;
    case 'additionalProperties': {
      const key = String((err.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys((parent.properties ?? {}) as Schema);
      const merge = key === '<<' ? '; YAML merge keys are not supported' : '';
      return { path: [...path, key], target: 'key', message: `unknown key "${key}" (expected one of: ${known.join(', ')}${merge})` };
    }
    case 'required': {
      const key = String((err.params as { missingProperty: string }).missingProperty);
      return { path: [...path, key], target: 'node', message: `missing required key "${key}"` };
    }
    case 'x-kind':
      return { path, target: 'value', message: err.message ?? 'invalid value' };
    case 'enum': {
      const values = (err.schema as unknown[]).map(String).join(', ');
      return { path, target: 'value', message: `expected one of: ${values}, got ${got}` };
    }
    case 'type':
    case 'minimum':
    case 'maximum':
    case 'minLength':
    case 'pattern':
      return { path, target: 'value', message: `expected ${expected(parent)}, got ${got}` };
    case 'minItems':
      return { path, target: 'value', message: `expected ${expected(parent)}, got an empty list` };
    case 'minProperties':
      return { path, target: 'value', message: `expected ${expected(parent)}, got an empty mapping` };
    default:
      return { path, target: 'value', message: err.message ?? `invalid value ${got}` };
  }
}

/** What a schema node accepts, in words. */
function expected(schema: Schema): string {
  if (typeof schema['x-expected'] === 'string') return schema['x-expected'];
  const type = schema.type;
  if (type === 'integer') {
    const min = schema.minimum as number | undefined;
    const max = schema.maximum as number | undefined;
    if (min !== undefined && max !== undefined) return `an integer from ${min} to ${max}`;
    if (min !== undefined) return `an integer >= ${min}`;
    return 'an integer';
  }
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    boolean: 'true or false',
    number: 'a number',
  };
  return names[String(type)] ?? String(type);
}

/** "/frontends/web/routes/0" → ["frontends", "web", "routes", 0]: list indexes become numbers, mapping keys stay strings ("503"). */
function pointerToPath(pointer: string, root: unknown): PathSegment[] {
  if (pointer === '') return [];
  const out: PathSegment[] = [];
  let node = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      out.push(Number(key));
      node = node[Number(key)];
    } else {
      out.push(key);
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}
