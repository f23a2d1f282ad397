// The staging-runtime table `dist/runtime.tsv`: what bin/supply reads to find its Node runtime
// before Node exists (DESIGN decision 2). The shell shim must not parse YAML, so the TypeScript
// manifest parser answers the question once — the repo's build (scripts/build.mjs), the packager
// and `init` write the answer as a trivial tab-separated file, one line per stack.

import { createHash } from 'node:crypto';
import { DependencyNotFoundError, ManifestError } from '../errors.js';
import { resolveEntry } from '../manifest/query.js';
import type { Dependency, Manifest } from '../manifest/types.js';
import { findMatchingVersion } from '../manifest/versions.js';

/** Where the table lives, relative to the buildpack root (bin/supply reads `$bp_dir/dist/runtime.tsv`). */
export const RUNTIME_TABLE_PATH = 'dist/runtime.tsv';

/** The dependency name of the staging runtime in manifest.yml. */
export const RUNTIME_DEPENDENCY = 'node';

/** The manifest keys of a node entry that record its head (runtime-head.ts). */
export const HEAD_BYTES_KEY = 'bin_node_head_bytes';
export const HEAD_SHA256_KEY = 'bin_node_head_sha256';

/** The stack column of the line used when CF_STACK is unset (a staging run by hand). */
export const ANY_STACK = '*';

/** One line: the runtime for one stack. */
export interface RuntimeRow {
  /** A stack name, or `*` for "CF_STACK unset". */
  stack: string;
  version: string;
  /** The manifest's uri: downloaded when the buildpack has no `file` (uncached zip, git URL). */
  uri: string;
  /** sha256 of the uri's archive (the manifest's `sha256`). */
  sha256: string;
  /** Cached zips: the bare `bin/node` binary inside the buildpack, derived from the archive. */
  file?: string;
  /** sha256 of `file`: a record of what the packager put there (bin/supply checks `fileBytes`). */
  fileSha256?: string;
  /** Size of `file` in bytes, checked by bin/supply (with its ELF header) before every use. */
  fileBytes?: number;
  /**
   * The archive's head (runtime-head.ts): its first `headBytes` bytes, whose sha256 is
   * `headSha256`, hold bin/node. A staging that downloads the archive keeps only that in the app cache.
   */
  headBytes?: number;
  headSha256?: string;
}

/** Characters a field may not hold: the separators of the format and other control characters. */
const UNSAFE = /[\u0000-\u001f\u007f]/;

function pickEntry(m: Manifest, stack: string | undefined): Dependency | undefined {
  const candidates = m.dependencies.filter(
    (d) => d.name === RUNTIME_DEPENDENCY && (stack === undefined || (m.stack !== '' ? m.stack === stack : d.cf_stacks.includes(stack))),
  );
  if (candidates.length === 0) return undefined;
  // the same choice supply makes for a dependency: the default version when there is one,
  // else the highest version of the stack
  const index = m.default_versions.findIndex((d) => d.name === RUNTIME_DEPENDENCY);
  if (index >= 0) {
    try {
      return resolveEntry(m, RUNTIME_DEPENDENCY, stack);
    } catch (e) {
      // a default one stack's entries do not match: staging there would fail before its first
      // line, so no table is written (the error names the key, the stack and what it has)
      if (!(e instanceof DependencyNotFoundError)) throw e;
      const wanted = m.default_versions[index].version;
      throw new ManifestError(
        m.file,
        `default_versions[${index}].version`,
        `${RUNTIME_DEPENDENCY} ${wanted} matches no ${RUNTIME_DEPENDENCY} dependency for ${stack === undefined ? 'any stack' : `stack ${stack}`} (its versions: ${e.available.join(', ')}): give that stack a ${RUNTIME_DEPENDENCY} entry the default matches, or a default every stack's ${RUNTIME_DEPENDENCY} matches`,
        { cause: e },
      );
    }
  }
  let version: string;
  try {
    version = findMatchingVersion('*', candidates.map((d) => d.version));
  } catch {
    return candidates[0]; // no version parses as one: the first entry, as written
  }
  return candidates.find((d) => d.version === version);
}

function checked(m: Manifest, entry: Dependency, key: string, value: string): string {
  const index = m.dependencies.indexOf(entry);
  if (value === '') throw new ManifestError(m.file, `dependencies[${index}].${key}`, `missing: the staging runtime ${entry.name} ${entry.version} cannot be ${key === 'sha256' ? 'verified' : 'found'}`);
  if (UNSAFE.test(value)) throw new ManifestError(m.file, `dependencies[${index}].${key}`, 'holds a control character (tab, newline, …), which the staging runtime table cannot carry');
  return value;
}

/** The head a node entry records (`bin_node_head_bytes`, `bin_node_head_sha256`: both or neither). */
function headOf(m: Manifest, entry: Dependency): Pick<RuntimeRow, 'headBytes' | 'headSha256'> {
  const raw = entry.extra[HEAD_BYTES_KEY];
  // a number to the core schema, its digits to a parser that keeps scalars as written
  const bytes = typeof raw === 'string' && /^[0-9]+$/.test(raw) ? Number(raw) : raw;
  const sha256 = entry.extra[HEAD_SHA256_KEY];
  if (raw === undefined && sha256 === undefined) return {};
  const at = (key: string) => `dependencies[${m.dependencies.indexOf(entry)}].${key}`;
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new ManifestError(m.file, at(HEAD_BYTES_KEY), `must be a positive whole number of bytes, with ${HEAD_SHA256_KEY} (written by \`sidecar-buildpack dependency add|update node\`)`);
  }
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new ManifestError(m.file, at(HEAD_SHA256_KEY), `must be a sha256 (64 lowercase hex digits), with ${HEAD_BYTES_KEY} (written by \`sidecar-buildpack dependency add|update node\`)`);
  }
  return { headBytes: bytes, headSha256: sha256 };
}

/**
 * The table's rows for a parsed manifest: one per stack that has a `node` entry (the top-level
 * `stack:` of a packaged manifest, else every `cf_stacks` value), then the `*` row.
 * Throws ManifestError when a chosen entry has no sha256 or a field the format cannot carry.
 */
export function runtimeRows(m: Manifest): RuntimeRow[] {
  const nodes = m.dependencies.filter((d) => d.name === RUNTIME_DEPENDENCY);
  if (nodes.length === 0) return [];
  const stacks = m.stack !== '' ? [m.stack] : [...new Set(nodes.flatMap((d) => d.cf_stacks))];
  const rows: RuntimeRow[] = [];
  for (const stack of [...stacks, undefined]) {
    const entry = pickEntry(m, stack);
    if (!entry) continue;
    rows.push({
      stack: stack ?? ANY_STACK,
      version: checked(m, entry, 'version', entry.version),
      uri: checked(m, entry, 'uri', entry.uri),
      sha256: checked(m, entry, 'sha256', entry.sha256),
      ...headOf(m, entry),
    });
  }
  return rows;
}

/** sha256 hex of a text as written (UTF-8). */
export function textSha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The file's text. `manifestText` is the manifest.yml the table was made from: its sha256 is
 * recorded so bin/supply can warn when the two drift apart.
 */
export function renderRuntimeTable(rows: RuntimeRow[], manifestText: string, writer: string): string {
  for (const r of rows) {
    for (const v of [r.file, r.fileSha256]) {
      if (v !== undefined && (v === '' || UNSAFE.test(v))) throw new Error(`runtime table: bad file field ${JSON.stringify(v)}`);
    }
    if (r.fileBytes !== undefined && !(Number.isSafeInteger(r.fileBytes) && r.fileBytes > 0)) throw new Error(`runtime table: bad file size ${r.fileBytes}`);
  }
  const lines = [
    `# staging runtime table for bin/supply, written by ${writer} from manifest.yml: do not edit`,
    `# manifest-sha256 ${textSha256(manifestText)}`,
    '# stack\tversion\turi\tsha256\tfile\tfile_sha256\tfile_bytes\thead_bytes\thead_sha256',
    ...rows.map((r) => [r.stack, r.version, r.uri, r.sha256, r.file ?? '-', r.fileSha256 ?? '-', r.fileBytes ?? '-', r.headBytes ?? '-', r.headSha256 ?? '-'].join('\t')),
  ];
  return `${lines.join('\n')}\n`;
}

/** Parse a table back into rows (for the tests and tools; bin/supply reads it with the shell's read). */
export function parseRuntimeTable(text: string): { manifestSha256: string | undefined; rows: RuntimeRow[] } {
  let manifestSha256: string | undefined;
  const rows: RuntimeRow[] = [];
  for (const line of text.split('\n')) {
    const m = /^# manifest-sha256 ([0-9a-f]{64})$/.exec(line);
    if (m) manifestSha256 = m[1];
    if (line === '' || line.startsWith('#')) continue;
    const [stack, version, uri, sha256, file, fileSha256, fileBytes, headBytes, headSha256] = line.split('\t');
    rows.push({
      stack,
      version,
      uri,
      sha256,
      ...(file && file !== '-' ? { file } : {}),
      ...(fileSha256 && fileSha256 !== '-' ? { fileSha256 } : {}),
      ...(fileBytes && /^[0-9]+$/.test(fileBytes) ? { fileBytes: Number(fileBytes) } : {}),
      ...(headBytes && /^[0-9]+$/.test(headBytes) && headSha256 && headSha256 !== '-' ? { headBytes: Number(headBytes), headSha256 } : {}),
    });
  }
  return { manifestSha256, rows };
}

/** The table for a manifest text (parsed as supply parses it). `file` names it in errors. */
export function runtimeTableFor(manifestText: string, file: string, writer: string, parse: (text: string, file: string) => Manifest): string {
  return renderRuntimeTable(runtimeRows(parse(manifestText, file)), manifestText, writer);
}
