import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Scalar,
  type Node as YamlNode,
} from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { type Config, configSchema } from './schema.ts';

/** The process environment, or a test's stand-in for it. */
export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_CONFIG_PATH = './dockhand.yml';

export interface LoadConfigOptions {
  /** The file to read; default `env.DOCKHAND_CONFIG`, then `./dockhand.yml`. */
  path?: string | undefined;
  /** Where `${NAME}` references are looked up. */
  env?: Env;
}

export interface ParseConfigOptions {
  env?: Env;
  /** Names the file in errors. */
  source?: string;
}

type Path = readonly PropertyKey[];

/** The config file to read: the one given, else `$DOCKHAND_CONFIG`, else `./dockhand.yml`. */
export const configPath = (path: string | undefined, env: Env): string =>
  path ?? (env.DOCKHAND_CONFIG || DEFAULT_CONFIG_PATH);

/**
 * Reads, interpolates and validates dockhand.yml (DESIGN.md §2.3). Every problem in the file is reported
 * at once, each naming its path; the result is deep-frozen.
 */
export const loadConfig = async ({ path, env = process.env }: LoadConfigOptions = {}): Promise<Config> => {
  const file = configPath(path, env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [describeReadError(e, file)]);
  }
  return parseConfig(text, { env, source: file });
};

/** `parseConfig` for text already in memory: YAML → `${NAME}` interpolation → schema. Throws `ConfigError`. */
export const parseConfig = (
  text: string,
  { env = process.env, source = 'dockhand.yml' }: ParseConfigOptions = {},
): Config => {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line;

  const syntax = doc.errors
    .filter((e) => e.code !== 'DUPLICATE_KEY')
    .map((e) => {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      return `line ${line}, column ${col}: ${e.message}`;
    });
  const problems = [...syntax, ...findDuplicateKeys(doc.contents, [], lineOf)];
  if (problems.length > 0) throw new ConfigError(source, problems);
  if (doc.contents === null) throw new ConfigError(source, ['the file is empty: see dockhand.example.yml']);

  const substituted = new Map<string, string>(); // value → the variable it came from, to keep it out of messages
  const missing = interpolateNode(doc.contents, [], env, substituted);
  if (missing.length > 0) throw new ConfigError(source, missing);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // Unresolved aliases and alias bombs surface only here.
    throw new ConfigError(source, [e instanceof Error ? e.message : String(e)]);
  }
  const result = configSchema.safeParse(data);
  if (!result.success) {
    const context: IssueContext = { data, redact: (value) => redactable(value, substituted) };
    const lines = result.error.issues.flatMap((issue) => formatIssue(issue, [], context));
    const located = lines.map(({ path, message, at }) => {
      const line = lineAt(doc, at ?? path, lineOf);
      return `${formatPath(path)}: ${message}${line === undefined ? '' : ` (line ${line})`}`;
    });
    throw new ConfigError(
      source,
      unique(located).map((l) => scrub(l, substituted)),
    );
  }
  return deepFreeze(result.data);
};

const describeReadError = (e: unknown, file: string): string => {
  const code = e && typeof e === 'object' && 'code' in e ? e.code : undefined;
  const where = resolve(file);
  if (code === 'ENOENT')
    return `no config file at ${where}; set DOCKHAND_CONFIG to its path (default ${DEFAULT_CONFIG_PATH}), or copy dockhand.example.yml`;
  if (code === 'EISDIR') return `${where} is a directory; DOCKHAND_CONFIG must name the config file itself`;
  if (code === 'EACCES') return `cannot read ${where}: permission denied`;
  return `cannot read ${where}: ${typeof code === 'string' ? code : String(e)}`;
};

// ── YAML ──────────────────────────────────────────────────────────────────────────────────────────────

const keyOf = (key: unknown): string => {
  if (isScalar(key)) return String(key.value);
  return String(key);
};

/** `services.api: defined twice (lines 3 and 12)`: the yaml package says only "Map keys must be unique". */
const findDuplicateKeys = (node: unknown, path: Path, lineOf: (offset: number) => number): string[] => {
  const problems: string[] = [];
  if (isMap(node)) {
    const seen = new Map<string, number[]>();
    for (const pair of node.items) {
      const key = keyOf(pair.key);
      const offset = isScalar(pair.key) && pair.key.range ? pair.key.range[0] : undefined;
      const lines = seen.get(key) ?? [];
      lines.push(offset === undefined ? 0 : lineOf(offset));
      seen.set(key, lines);
      problems.push(...findDuplicateKeys(pair.value, [...path, key], lineOf));
    }
    for (const [key, lines] of seen) {
      if (lines.length < 2) continue;
      const times = lines.length === 2 ? 'twice' : `${lines.length} times`;
      const where = lines.filter((l) => l > 0);
      const at = where.length > 0 ? ` (lines ${where.slice(0, -1).join(', ')} and ${where.at(-1)})` : '';
      problems.push(`${formatPath([...path, key])}: defined ${times}${at}`);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      problems.push(...findDuplicateKeys(item, [...path, i], lineOf));
    });
  }
  return problems;
};

/** The line of the node at `path`, or of its nearest ancestor that exists (for a missing key). */
const lineAt = (doc: Document, path: Path, lineOf: (offset: number) => number): number | undefined => {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
    if (node && typeof node === 'object' && 'range' in node) {
      const range = (node as YamlNode).range;
      if (range) return lineOf(range[0]);
    }
  }
  return undefined;
};

// ── ${NAME} interpolation ─────────────────────────────────────────────────────────────────────────────

const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

export interface Interpolation {
  value: string;
  /** Variables that are unset (and have no `:-default`). */
  missing: string[];
  /** Malformed references, described. */
  invalid: string[];
  /** Each substituted value and its variable. */
  used: [name: string, value: string][];
}

/**
 * Replaces `${NAME}` (and `${NAME:-default}`, used when NAME is unset or empty) from `env`.
 * `$${` stands for a literal `${`; any other `$` is left alone.
 */
export const interpolate = (text: string, env: Env): Interpolation => {
  const result: Interpolation = { value: '', missing: [], invalid: [], used: [] };
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (!text.startsWith('${', dollar)) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close === -1) {
      result.invalid.push(`"\${" is not closed by "}" (write "$\${" for a literal "\${")`);
      out += text.slice(dollar);
      break;
    }
    const inner = text.slice(dollar + 2, close);
    i = close + 1;
    const match = VARIABLE.exec(inner);
    if (!match) {
      result.invalid.push(
        `"\${${inner}}" is not a variable reference: expected \${NAME} or \${NAME:-default} (write "$\${" for a literal "\${")`,
      );
      continue;
    }
    const name = match[1] as string;
    const fallback = match[2];
    const value = env[name];
    if (value !== undefined && !(fallback !== undefined && value === '')) {
      out += value;
      result.used.push([name, value]);
    } else if (fallback !== undefined) {
      out += fallback;
    } else {
      result.missing.push(name);
    }
  }
  result.value = out;
  return result;
};

/** Interpolates every string scalar in place (not keys); returns one problem per missing variable and use. */
const interpolateNode = (node: unknown, path: Path, env: Env, substituted: Map<string, string>): string[] => {
  const problems: string[] = [];
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair)) problems.push(...interpolateNode(pair.value, [...path, keyOf(pair.key)], env, substituted));
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      problems.push(...interpolateNode(item, [...path, i], env, substituted));
    });
  } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('$')) {
    const scalar = node as Scalar<string>;
    const { value, missing, invalid, used } = interpolate(scalar.value, env);
    const where = formatPath(path);
    for (const name of new Set(missing)) problems.push(`${where}: environment variable ${name} is not set`);
    for (const message of invalid) problems.push(`${where}: ${message}`);
    for (const [name, v] of used) substituted.set(v, name);
    scalar.value = value;
  }
  return problems;
};

/** Whether a value may appear in a message: never one that came from the environment (it may be a secret). */
const redactable = (value: string, substituted: Map<string, string>): string | undefined => {
  for (const [secret, name] of substituted) {
    if (secret.length > 0 && value.includes(secret)) return name;
  }
  return undefined;
};

/** Last line of defence: no substituted value of any length that could be a secret survives in a message. */
const scrub = (line: string, substituted: Map<string, string>): string => {
  let out = line;
  for (const [secret, name] of substituted) {
    if (secret.length >= 6) out = out.split(secret).join(`\${${name}}`);
  }
  return out;
};

// ── zod issues → `path: message` ──────────────────────────────────────────────────────────────────────

type Issue = z.core.$ZodIssue;

interface IssueContext {
  /** The data that was validated, to say what was found where. */
  data: unknown;
  /** The name of the variable a string came from, if it did (then the string is not shown). */
  redact: (value: string) => string | undefined;
}

interface Problem {
  path: Path;
  message: string;
  /** Where to look for the line number, when not at `path`. */
  at?: Path;
}

const TYPE_NAMES: Record<string, string> = { int: 'integer', record: 'object', nonoptional: 'a value' };

export const formatPath = (path: Path): string => {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z0-9_$-]+$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
};

const valueAt = (data: unknown, path: Path): unknown => {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
};

const typeName = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isInteger(value)) return `number ${value}`;
  return typeof value;
};

/** A value as shown in a message: strings quoted and shortened; values from the environment only by name. */
const show = (value: unknown, context: IssueContext): string => {
  if (typeof value === 'string') {
    const variable = context.redact(value);
    if (variable !== undefined) return `the value of \${${variable}}`;
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeName(value);
};

const orList = (values: readonly unknown[]): string => {
  const shown = values.map((v) => JSON.stringify(v));
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} or ${shown.at(-1)}`;
};

const plural = (n: number | bigint, word: string): string => `${n} ${word}${n === 1 || n === 1n ? '' : 's'}`;

const formatIssue = (issue: Issue, prefix: Path, context: IssueContext): Problem[] => {
  const path = [...prefix, ...issue.path];
  const value = valueAt(context.data, path);
  const at = (message: string): Problem[] => [{ path, message }];
  switch (issue.code) {
    case 'invalid_type': {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (value === undefined) return at(`missing (expected ${expected})`);
      return at(`expected ${expected}, got ${typeName(value)}`);
    }
    case 'unrecognized_keys': {
      const present = value !== null && typeof value === 'object' ? Object.keys(value) : [];
      const known = knownKeysAt(configSchema, path, context.data).filter((k) => !present.includes(k));
      return issue.keys.map((key) => {
        const suggestion = closest(key, known);
        return {
          path,
          at: [...path, key],
          message: `unknown key "${key}"${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}`,
        };
      });
    }
    case 'invalid_union': {
      if (issue.discriminator !== undefined && 'options' in issue && issue.options) {
        const expected = `expected ${issue.discriminator} ${orList(issue.options)}`;
        return at(value === undefined ? `missing (${expected})` : `${expected}, got ${show(value, context)}`);
      }
      // A plain union: report the option that came closest, when one clearly did.
      const ranked = issue.errors.map((errors) => errors.length).sort((a, b) => a - b);
      const best = issue.errors.find((errors) => errors.length === ranked[0]);
      if (best && best.length > 0 && ranked[0] !== ranked[1])
        return best.flatMap((inner) => formatIssue(inner, path, context));
      return at(issue.message === 'Invalid input' ? 'does not match any of the allowed forms' : issue.message);
    }
    case 'invalid_key': {
      const inner = issue.issues.map((i) => i.message).join('; ');
      return at(`invalid name ${JSON.stringify(String(path.at(-1)))}: ${inner}`);
    }
    case 'invalid_value':
      return at(`expected ${orList(issue.values)}${value === undefined ? '' : `, got ${show(value, context)}`}`);
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const limit = small ? issue.minimum : issue.maximum;
      const bound = issue.exact
        ? 'exactly'
        : small
          ? issue.inclusive
            ? 'at least'
            : 'more than'
          : issue.inclusive
            ? 'at most'
            : 'less than';
      if (issue.origin === 'array' || issue.origin === 'set') return at(`expected ${bound} ${plural(limit, 'item')}`);
      if (issue.origin === 'string') {
        if (small && limit === 1) return at('must not be empty');
        return at(`expected ${bound} ${plural(limit, 'character')}`);
      }
      return at(`expected ${bound} ${limit}${value === undefined ? '' : `, got ${show(value, context)}`}`);
    }
    case 'invalid_format': {
      const message = issue.message.startsWith('Invalid')
        ? `expected a string matching ${issue.pattern ?? issue.format}`
        : issue.message;
      return at(`${message}, got ${show(value, context)}`);
    }
    case 'custom':
      if (issue.message.startsWith('expected ') && typeof value === 'string')
        return at(`${issue.message}, got ${show(value, context)}`);
      return at(issue.message);
    default:
      return at(issue.message);
  }
};

const unique = (lines: string[]): string[] => [...new Set(lines)];

// ── "did you mean" ────────────────────────────────────────────────────────────────────────────────────

/** The keys the schema allows for the object at `path` (the matching branch of a `type` union, if any). */
const knownKeysAt = (schema: z.ZodType, path: Path, data: unknown): string[] => {
  let candidates: z.ZodType[] = [schema];
  for (let i = 0; i <= path.length; i++) {
    const here = valueAt(data, path.slice(0, i));
    candidates = candidates.flatMap((c) => branches(unwrap(c), here));
    if (i === path.length) break;
    const segment = path[i];
    candidates = candidates.flatMap((c): z.ZodType[] => {
      if (c instanceof z.ZodObject && typeof segment === 'string') {
        const field = (c.shape as Record<string, z.ZodType>)[segment];
        return field ? [field] : [];
      }
      if (c instanceof z.ZodRecord) return [c.valueType as z.ZodType];
      if (c instanceof z.ZodArray) return [c.element as z.ZodType];
      return [];
    });
  }
  return [...new Set(candidates.flatMap((c) => (c instanceof z.ZodObject ? Object.keys(c.shape) : [])))];
};

const unwrap = (schema: z.ZodType): z.ZodType => {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable)
    return unwrap(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodPipe) return unwrap(schema.in as z.ZodType);
  return schema;
};

/** A union's options, narrowed to the one whose `type` literal matches the data when there is one. */
const branches = (schema: z.ZodType, data: unknown): z.ZodType[] => {
  if (!(schema instanceof z.ZodUnion)) return [schema];
  const options = (schema.options as readonly z.ZodType[]).map(unwrap);
  const type = data !== null && typeof data === 'object' ? (data as Record<string, unknown>).type : undefined;
  const matching = options.filter((o) => {
    if (!(o instanceof z.ZodObject)) return false;
    const literal = (o.shape as Record<string, z.ZodType>).type;
    return literal instanceof z.ZodLiteral && literal.values.has(type as never);
  });
  return matching.length > 0 ? matching : options;
};

/** The known key closest to a misspelt one, if it is close enough to be what was meant. */
export const closest = (key: string, known: readonly string[]): string | undefined => {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : distance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(key.length / 3)));
  return bestDistance <= limit ? best : undefined;
};

/** Optimal string alignment distance: edits, counting a swap of neighbours as one. */
const distance = (a: string, b: string): number => {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, at(i - 2, j - 2) + 1);
      row[j] = d;
    }
  }
  return at(a.length, b.length);
};

// ── freezing ──────────────────────────────────────────────────────────────────────────────────────────

export const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
};
