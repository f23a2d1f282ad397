// The compiled manifest `dist/manifest.json`: manifest.yml as the parser reads it, written beside
// the staging runtime table by the repo's build, the packager and `init`, so that staging reads
// JSON instead of parsing YAML. Parsing the manifest with the yaml library (loading it, then
// parsing) was the largest part of a staging's fixed cost after node's own start (about 25 ms of
// 130 ms for an 8 MiB sidecar; bench/README.md). The file records the sha256 of the manifest.yml
// it was made from: staging uses it only when that matches the buildpack's manifest.yml as it is
// (a manifest edited since, by hand or by `dependency` commands, is parsed as before), and only
// when its format is this one. It is a file of the buildpack like dist/supply.cjs, trusted as
// much; the digest guards against drift, not tampering.

import { createHash } from 'node:crypto';
import { defaultVersion, getEntry } from './query.js';
import type { Manifest } from './types.js';
import { installAnswer, type InstallAnswer } from './warnings.js';

/**
 * The answers to staging's version questions for each sidecar's dependency, by stack (`*`: none
 * given): its default version, and what installWarnings says of that entry apart from the date.
 * A staging with no version override takes these, and so never loads semver (semver-lazy.ts).
 * A question whose answer is an error is left out: staging asks it and fails with that error.
 */
export type StagingAnswers = Record<string, Record<string, { version: string } & InstallAnswer>>;

/** The stack key of the answers for CF_STACK `stack`. */
export const answersStack = (stack: string | undefined): string => stack ?? '*';

/** Where the compiled manifest lives, relative to the buildpack root. */
export const COMPILED_MANIFEST_PATH = 'dist/manifest.json';

/** The format of the file; a reader takes only its own. */
export const COMPILED_MANIFEST_FORMAT = 1;

interface CompiledFile {
  format: number;
  writer: string;
  manifest_sha256: string;
  /** The parsed manifest without `file`; null when parsing it warned (the warnings name the file). */
  manifest: Omit<Manifest, 'file'> | null;
  answers?: StagingAnswers;
}

/** The answers for every stack the manifest names (and none given), for each sidecar's dependency. */
export function stagingAnswers(m: Manifest): StagingAnswers {
  const stacks = [...new Set([...(m.stack !== '' ? [m.stack] : []), ...m.dependencies.flatMap((d) => d.cf_stacks)])];
  const names = [...new Set(m.sidecars.map((s) => s.dependency))];
  const out: StagingAnswers = {};
  for (const stack of [...stacks, undefined]) {
    const byName: StagingAnswers[string] = {};
    for (const name of names) {
      try {
        const version = defaultVersion(m, name, stack);
        byName[name] = { version, ...installAnswer(m, getEntry(m, name, version, stack), stack) };
      } catch {
        // staging asks again, and fails with the error
      }
    }
    out[answersStack(stack)] = byName;
  }
  return out;
}

/** sha256 hex of a text as written (UTF-8). */
export function manifestTextSha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The file's text for a manifest parsed from `manifestText`. A manifest whose parse warned is
 * recorded as null: its warnings name the manifest's path, which staging knows and this does not,
 * so staging parses that one.
 */
export function renderCompiledManifest(m: Manifest, manifestText: string, writer: string): string {
  const { file: _file, ...rest } = m;
  const doc: CompiledFile = {
    format: COMPILED_MANIFEST_FORMAT,
    writer,
    manifest_sha256: manifestTextSha256(manifestText),
    manifest: m.warnings && m.warnings.length > 0 ? null : rest,
    ...(m.warnings && m.warnings.length > 0 ? {} : { answers: stagingAnswers(m) }),
  };
  return `${JSON.stringify(doc)}\n`;
}

/** The compiled file for a manifest text (parsed as supply parses it). `file` names it in errors. */
export function compiledManifestFor(manifestText: string, file: string, writer: string, parse: (text: string, file: string) => Manifest): string {
  return renderCompiledManifest(parse(manifestText, file), manifestText, writer);
}

/**
 * The manifest a compiled file holds for `manifestText`, named `file`; undefined when the file is
 * not of this format, was made from another manifest text, or holds none (staging then parses).
 */
export function readCompiledManifest(compiled: string, manifestText: string, file: string): Manifest | undefined {
  return readCompiled(compiled, manifestText, file)?.manifest;
}

/** readCompiledManifest, with the answers the file carries (none: an empty set, staging asks). */
export function readCompiled(compiled: string, manifestText: string, file: string): { manifest: Manifest; answers: StagingAnswers } | undefined {
  let doc: Partial<CompiledFile>;
  try {
    doc = JSON.parse(compiled) as Partial<CompiledFile>;
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || doc.format !== COMPILED_MANIFEST_FORMAT) return undefined;
  if (typeof doc.manifest_sha256 !== 'string' || doc.manifest_sha256 !== manifestTextSha256(manifestText)) return undefined;
  const m = doc.manifest;
  if (m === null || typeof m !== 'object' || !Array.isArray(m.dependencies) || !Array.isArray(m.sidecars)) return undefined;
  const answers = doc.answers !== null && typeof doc.answers === 'object' ? doc.answers : {};
  return { manifest: { file, ...m }, answers };
}
