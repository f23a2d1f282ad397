// `((var))` interpolation of an app manifest, as `cf push --var K=V --vars-file F` does (the cf
// CLI uses bosh's template interpolation): a value that is exactly `((name))` takes the variable's
// value with its type; `((name))` inside a longer string is replaced by its text; a variable that
// is not defined fails with `Expected to find variables: a, b`.

import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { ManifestError, UsageError } from '../errors.js';

export type Vars = Record<string, unknown>;

const VAR = /\(\(([-/.\w]+)\)\)/g;
const WHOLE = /^\(\(([-/.\w]+)\)\)$/;

/** `K=V` pairs of `--var` (V may contain `=`; kept as a string, as the cf CLI does). */
export function parseVarPairs(pairs: string[]): Vars {
  const out: Vars = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--var ${JSON.stringify(pair)}: use NAME=VALUE`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** A vars file: a YAML map of names to values. */
export async function readVarsFile(file: string): Promise<Vars> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ManifestError(file, undefined, `cannot read vars file: ${(e as Error).message}`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ManifestError(file, undefined, `invalid YAML: ${(e as Error).message}`, { cause: e });
  }
  if (doc == null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ManifestError(file, undefined, 'a vars file must be a map of names to values');
  return doc as Vars;
}

/** The first definition wins in the order given (pass `--var` before the vars files). */
export function mergeVars(...sources: Vars[]): Vars {
  const out: Vars = {};
  for (const s of [...sources].reverse()) Object.assign(out, s);
  return out;
}

function textOf(value: unknown, name: string, file: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return '';
  throw new ManifestError(file, undefined, `variable ((${name})) is a ${Array.isArray(value) ? 'list' : 'map'} and cannot be part of a longer string`);
}

/**
 * Interpolate `((name))` in every string of a parsed YAML document (map keys included, as bosh
 * does). Throws ManifestError listing every missing variable, sorted.
 */
export function interpolate(doc: unknown, vars: Vars, file: string): unknown {
  const missing = new Set<string>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = WHOLE.exec(v);
      if (whole) {
        if (!(whole[1] in vars)) {
          missing.add(whole[1]);
          return v;
        }
        return vars[whole[1]];
      }
      return v.replace(VAR, (all, name: string) => {
        if (!(name in vars)) {
          missing.add(name);
          return all;
        }
        return textOf(vars[name], name, file);
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(v)) out[walk(k) as string] = walk(val);
      return out;
    }
    return v;
  };
  const result = walk(doc);
  if (missing.size > 0) throw new ManifestError(file, undefined, `Expected to find variables: ${[...missing].sort().join(', ')}`);
  return result;
}
