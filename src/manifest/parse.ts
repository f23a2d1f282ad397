// Reads and validates a buildpack's manifest.yml (CONTRACT §4, libbuildpack format) plus the
// toolkit's `sidecars:` section into a Manifest. loadManifest is this module's only I/O.

import { redactText } from '../log/redact.js';
import { FieldReader, isData, type Data } from './fields.js';
import { parseSidecars } from './sidecars.js';
import type { DefaultVersion, Dependency, DeprecationDate, Manifest } from './types.js';
import { readManifestText } from './read.js';
import { readYaml, type ReadYamlOptions } from './yaml.js';

/** Keys of a dependency entry that have their own Dependency field; the rest go to `extra`. */
const DEPENDENCY_KEYS = ['name', 'version', 'uri', 'sha256', 'cf_stacks', 'file', 'source', 'source_sha256'];
const URI_SCHEMES = ['http:', 'https:', 'file:'];
/** Dependency names become directory names at staging, so they must be plain path segments. */
const DEPENDENCY_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;

/**
 * Every top-level key a buildpack manifest may have: libbuildpack's (url_to_dependency_map and
 * packaging_profiles are read by its packager) and the toolkit's `sidecars`.
 */
export const TOP_LEVEL_KEYS = [
  'language', 'stack', 'default_versions', 'dependency_deprecation_dates', 'dependencies', 'include_files',
  'exclude_files', 'pre_package', 'url_to_dependency_map', 'packaging_profiles', 'sidecars',
];

export type ParseOptions = ReadYamlOptions;

/**
 * Parse and validate manifest text. `file` names the source in every error.
 * Throws ManifestError(file, keyPath, reason), e.g. `dependencies[2].sha256: not a sha256`.
 */
export function parseManifest(text: string, file: string, options: ParseOptions = {}): Manifest {
  const doc = readYaml(text, file, options);
  const f = new FieldReader(file);
  if (doc !== null && !isData(doc)) f.fail('', 'must be a YAML mapping at the top level');
  const raw: Data = isData(doc) ? doc : {};

  const dependencies = f.list(raw.dependencies, 'dependencies').map((d, i) => readDependency(f, d, `dependencies[${i}]`));
  const warnings = misspelledKeys(Object.keys(raw), file);
  return {
    file,
    language: f.optString(raw.language, 'language') ?? '',
    stack: f.optString(raw.stack, 'stack') ?? '',
    default_versions: f.list(raw.default_versions, 'default_versions').map((d, i) => readDefault(f, d, `default_versions[${i}]`)),
    dependency_deprecation_dates: f
      .list(raw.dependency_deprecation_dates, 'dependency_deprecation_dates')
      .map((d, i) => readDeprecation(f, d, `dependency_deprecation_dates[${i}]`)),
    dependencies,
    include_files: f.stringList(raw.include_files, 'include_files'),
    exclude_files: f.stringList(raw.exclude_files, 'exclude_files'),
    ...optional('pre_package', f.optString(raw.pre_package, 'pre_package')),
    sidecars: parseSidecars(raw.sidecars, dependencies, file),
    raw,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/**
 * A warning for each unknown top-level key that looks like a misspelling of a known one (at most
 * one edit per four characters, at least one): it would otherwise be ignored in silence. Unknown
 * keys unlike any known one are left alone (a buildpack's own extension).
 */
function misspelledKeys(keys: string[], file: string): string[] {
  const out: string[] = [];
  for (const key of keys) {
    if (TOP_LEVEL_KEYS.includes(key)) continue;
    const folded = key.toLowerCase().replace(/-/g, '_');
    let best: { known: string; d: number } | undefined;
    for (const known of TOP_LEVEL_KEYS) {
      const d = editDistance(folded, known);
      if (d <= Math.max(1, Math.floor(known.length / 4)) && (best === undefined || d < best.d)) best = { known, d };
    }
    if (best) out.push(`${file}: unknown top-level key ${JSON.stringify(key)} is ignored; did you mean ${JSON.stringify(best.known)}?`);
  }
  return out;
}

/** Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Read `<buildpackDir>/manifest.yml` and parse it. The size limit is checked before reading,
 * so a huge file is refused without loading it.
 */
export async function loadManifest(buildpackDir: string, options: ParseOptions = {}): Promise<Manifest> {
  const { file, text } = await readManifestText(buildpackDir, options.maxBytes);
  return parseManifest(text, file, options);
}

export function readDefault(f: FieldReader, value: unknown, path: string): DefaultVersion {
  const m = f.map(value, path);
  return { name: f.string(m.name, `${path}.name`), version: f.string(m.version, `${path}.version`) };
}

function readDeprecation(f: FieldReader, value: unknown, path: string): DeprecationDate {
  const m = f.map(value, path);
  return {
    name: f.string(m.name, `${path}.name`),
    version_line: f.string(m.version_line, `${path}.version_line`),
    date: f.string(m.date, `${path}.date`),
    ...optional('link', f.optString(m.link, `${path}.link`)),
    ...optional('match', f.optString(m.match, `${path}.match`)),
  };
}

/** One `dependencies[]` entry. `uriOptional`: override.yml entries may omit the uri (then ''). */
export function readDependency(f: FieldReader, value: unknown, path: string, uriOptional = false): Dependency {
  const m = f.map(value, path);
  const name = f.string(m.name, `${path}.name`);
  if (!DEPENDENCY_NAME.test(name)) {
    f.fail(`${path}.name`, `must be letters, digits and . _ + - (it names a directory), got ${JSON.stringify(name)}`);
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) if (!DEPENDENCY_KEYS.includes(k)) extra[k] = v;
  const file = f.optString(m.file, `${path}.file`);
  if (file !== undefined) checkRelativePath(f, file, `${path}.file`);
  return {
    name,
    version: f.string(m.version, `${path}.version`),
    uri: uriOptional && (m.uri === undefined || m.uri === null) ? '' : readUri(f, m.uri, `${path}.uri`),
    sha256: readSha256(f, m.sha256, `${path}.sha256`) ?? '',
    cf_stacks: f.stringList(m.cf_stacks, `${path}.cf_stacks`),
    ...optional('file', file),
    ...optional('source', f.optString(m.source, `${path}.source`)),
    ...optional('source_sha256', readSha256(f, m.source_sha256, `${path}.source_sha256`)),
    extra,
  };
}

function readUri(f: FieldReader, value: unknown, path: string): string {
  const uri = f.string(value, path);
  let scheme: string;
  try {
    scheme = new URL(uri).protocol.toLowerCase();
  } catch {
    f.fail(path, `not a valid URI: ${redactText(uri)}`);
  }
  if (!URI_SCHEMES.includes(scheme)) {
    f.fail(path, `scheme ${scheme.replace(/:$/, '')} is not supported (use http, https or file)`);
  }
  return uri;
}

/**
 * 64 hex characters, kept lowercase. Deliberate deviation from libbuildpack (compat README):
 * a malformed digest is refused at load instead of failing later as a mismatch.
 */
function readSha256(f: FieldReader, value: unknown, path: string): string | undefined {
  const s = f.optString(value, path);
  if (s === undefined) return undefined;
  if (!SHA256.test(s)) f.fail(path, 'not a sha256 (expected 64 hexadecimal characters)');
  return s.toLowerCase();
}

/** A cached buildpack's `file:` must stay inside the buildpack. */
function checkRelativePath(f: FieldReader, p: string, path: string): void {
  if (p.startsWith('/') || p.includes('\\') || p.split('/').some((seg) => seg === '..')) {
    f.fail(path, `must be a relative path inside the buildpack, got ${JSON.stringify(p)}`);
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
