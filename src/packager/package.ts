// packageBuildpack: a buildpack directory in, a reproducible (cached or uncached) zip out
// (CONTRACT §5). The library entry point behind `sidecar-buildpack package`, the demo and benches.

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManifestError, PackagerError, UsageError } from '../errors.js';
import { redactUri } from '../log/redact.js';
import { parseManifest } from '../manifest/parse.js';
import { COMPILED_MANIFEST_PATH, renderCompiledManifest } from '../manifest/compiled.js';
import { readBuildpackVersion } from '../manifest/query.js';
import { ensureAllCached, type FetcherFactory } from './download-cache.js';
import type { PackageEvent } from './events.js';
import { withBundleCompanion } from './bundle-files.js';
import { resolveIncludeFiles } from './include-files.js';
import { parseManifestDocument, renderManifestDocument } from './manifest-doc.js';
import { cachedDependencyPath, zipFileName } from './naming.js';
import { runPrePackage } from './pre-package.js';
import { resolveExclusions } from './profiles.js';
import { assertNotPackaged, dependencyIndexesForStack, rewriteForPackaging } from './rewrite.js';
import { ANY_STACK, renderRuntimeTable, RUNTIME_DEPENDENCY, RUNTIME_TABLE_PATH, runtimeRows } from './runtime-table.js';
import { extractRuntimeBinary, runtimeBinaryZipPath, stripRuntimeBinary } from './slim-runtime.js';
import { canCarryCodeCache, codeCacheZipPath, materialize, recordCodeCache } from './code-cache.js';
import { validateStack } from './validate.js';
import { writeReproducibleZip, zipEpoch, type ZipEntry } from './zip.js';

/** The platform refuses a buildpack zip whose root manifest.yml is 1 MiB or more (CONTRACT §5). */
export const MANIFEST_SIZE_LIMIT = 1024 * 1024;

export interface PackageOptions {
  /** The buildpack directory (holds manifest.yml). */
  dir: string;
  /** The stack to package for; '' packages for any stack. */
  stack: string;
  /** Include every dependency's file (an offline, "cached" buildpack). */
  cached: boolean;
  /** Default: the VERSION file of `dir`, trimmed. */
  version?: string;
  /** The download cache (`~/.buildpack-packager/cache` in the CLI). Required when cached. */
  cacheDir?: string;
  /** Where the zip goes; default `dir`. */
  outputDir?: string;
  /** Environment for pre_package and SOURCE_DATE_EPOCH; default: none (an empty environment). */
  env?: Record<string, string | undefined>;
  /** Makes the fetcher for each download (retries, proxies, redaction). Required when cached. */
  createFetcher?: FetcherFactory;
  /** Parallel downloads (default 4). */
  concurrency?: number;
  /** Cached zips only: leave dependencies out by profile (`packaging_profiles:`) or by name. */
  profile?: string;
  exclude?: string[];
  include?: string[];
  /** Cached zips: carry the staging runtime's bin/node as archived, symbols and debug info kept (default: stripped). */
  keepRuntimeSymbols?: boolean;
  onEvent?: (event: PackageEvent) => void;
}

/** One dependency that went into the zip's manifest. */
export interface PackagedDependency {
  name: string;
  version: string;
  /** Redacted. */
  uri: string;
  /** Cached zips: the path inside the zip. */
  file?: string;
  /** Cached zips: whether the download cache already had it. */
  source?: 'cache' | 'download';
}

export interface PackageResult {
  zipPath: string;
  fileName: string;
  bytes: number;
  sha256: string;
  language: string;
  version: string;
  stack: string;
  cached: boolean;
  dependencies: PackagedDependency[];
  /** Size of the packaged manifest.yml. */
  manifestBytes: number;
  warnings: string[];
}

async function readManifestText(dir: string): Promise<{ file: string; text: string }> {
  const file = path.join(dir, 'manifest.yml');
  try {
    return { file, text: await fs.readFile(file, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ManifestError(file, undefined, code === 'ENOENT' ? 'not found: a buildpack needs a manifest.yml at its root' : `cannot be read (${code})`, { cause: err });
  }
}

/**
 * Build the zip. Order: validate (already packaged, stack, defaults) → version → pre_package →
 * include_files → downloads (cached) → manifest rewrite → zip (temp file, then rename).
 */
export async function packageBuildpack(options: PackageOptions): Promise<PackageResult> {
  const dir = path.resolve(options.dir);
  const emit = options.onEvent ?? (() => undefined);
  const env = options.env ?? {};
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    emit({ type: 'warning', message });
  };

  const { file, text } = await readManifestText(dir);
  const doc = parseManifestDocument(text, file);
  assertNotPackaged(doc);
  const manifest = parseManifest(text, file);
  for (const w of manifest.warnings ?? []) warn(w);
  if (!manifest.language) throw new ManifestError(file, 'language', 'is required: it names the buildpack and its zip');
  validateStack(manifest, options.stack);
  const { excluded, variant } = resolveExclusions(doc, options.cached, options);
  if (options.keepRuntimeSymbols && !options.cached) throw new UsageError('--keep-runtime-symbols is only valid for cached buildpacks (an uncached zip carries no runtime)');
  const version = options.version ?? (await readBuildpackVersion(dir));
  if (!version) throw new PackagerError('the buildpack version is empty: pass --version or fill the VERSION file', 'NO_VERSION');

  if (manifest.pre_package) {
    emit({ type: 'pre-package', command: manifest.pre_package });
    const output = await runPrePackage(manifest.pre_package, dir, env);
    emit({ type: 'pre-package-done', command: manifest.pre_package, output });
  }

  // manifest.yml, VERSION, dist/runtime.tsv and dist/manifest.json are generated below, whatever include_files says about them.
  const generated = ['manifest.yml', 'VERSION', RUNTIME_TABLE_PATH, COMPILED_MANIFEST_PATH];
  const included = await withBundleCompanion(dir, (await resolveIncludeFiles(dir, manifest.include_files)).filter((f) => !generated.includes(f.path)));
  const keep = dependencyIndexesForStack(doc, options.stack).filter((i) => !excluded.has(manifest.dependencies[i]?.name));
  if (keep.some((i) => i >= manifest.dependencies.length)) throw new Error('manifest document and model disagree on dependencies');
  const kept = keep.map((i) => manifest.dependencies[i]);

  if (!options.cached) {
    for (const d of kept) {
      if (/^file:/i.test(d.uri)) warn(`${d.name} ${d.version}: its uri ${redactUri(d.uri)} is a file of this machine: a foundation staging this uncached zip cannot download it (package it --cached to carry the file)`);
    }
  }
  const entries: ZipEntry[] = included.map((f) => ({ path: f.path, localPath: f.localPath, mode: f.mode }));
  const files = new Map<number, string>();
  const packaged: PackagedDependency[] = kept.map((d) => ({ name: d.name, version: d.version, uri: redactUri(d.uri) }));

  // cached zips carry the staging runtime slimmed to its bare bin/node (slim-runtime.ts), by uri
  const runtimeFiles = new Map<string, { file: string; sha256: string; bytes: number }>();
  let work: string | undefined;
  try {
    if (options.cached && kept.length > 0) {
      if (!options.cacheDir || !options.createFetcher) throw new Error('packageBuildpack: cached packaging needs cacheDir and createFetcher');
      const unverifiable = kept.find((d) => !d.sha256);
      if (unverifiable) {
        throw new PackagerError(`${unverifiable.name} ${unverifiable.version} has no sha256 in ${file}: a cached buildpack only holds verified files`, 'NO_SHA256');
      }
      const got = await ensureAllCached(kept, {
        cacheDir: options.cacheDir,
        createFetcher: options.createFetcher,
        concurrency: options.concurrency,
        onEvent: emit,
      });
      // the whole node archive only when a sidecar installs it into the droplet
      const fullRuntime = manifest.sidecars.some((s) => s.dependency === RUNTIME_DEPENDENCY);
      const seen = new Set<string>();
      for (const [k, index] of keep.entries()) {
        const inZip = cachedDependencyPath(kept[k].uri);
        packaged[k].source = got[k].source;
        if (kept[k].name === RUNTIME_DEPENDENCY && !fullRuntime) {
          if (!runtimeFiles.has(kept[k].uri)) {
            work ??= await fs.mkdtemp(path.join(os.tmpdir(), 'sidecar-runtime-'));
            const dir = await fs.mkdtemp(path.join(work, 'node-'));
            const extracted = await extractRuntimeBinary(got[k].localPath, dir, `${kept[k].name} ${kept[k].version} (${redactUri(kept[k].uri)})`);
            const bin = options.keepRuntimeSymbols ? { ...extracted, unstripped: 'asked to keep its symbols' } : await stripRuntimeBinary(extracted);
            const binZip = runtimeBinaryZipPath(inZip);
            emit({ type: 'runtime-binary', file: binZip, bytes: bin.bytes, archivedBytes: bin.archivedBytes, ...(bin.unstripped ? { unstripped: bin.unstripped } : {}) });
            entries.push({ path: binZip, localPath: bin.path, mode: 0o755 });
            runtimeFiles.set(kept[k].uri, { file: binZip, sha256: bin.sha256, bytes: bin.bytes });
          }
          // no `file:` in the manifest: the archive itself is not in the zip, only its bin/node
          packaged[k].file = runtimeFiles.get(kept[k].uri)!.file;
          continue;
        }
        files.set(index, inZip);
        packaged[k].file = inZip;
        // two entries (e.g. two stacks) may share one uri, hence one file
        if (!seen.has(inZip)) entries.push({ path: inZip, localPath: got[k].localPath, mode: 0o644 });
        seen.add(inZip);
      }
    }
    rewriteForPackaging(doc, options.stack, keep, files);
    const manifestText = renderManifestDocument(doc);
    const manifestBytes = Buffer.byteLength(manifestText);
    if (manifestBytes >= MANIFEST_SIZE_LIMIT) {
      warn(`the packaged manifest.yml is ${manifestBytes} bytes; the platform rejects a buildpack zip whose manifest.yml is 1 MiB or more`);
    }
    entries.push({ path: 'manifest.yml', contents: manifestText, mode: 0o644 });
    // the staging runtime table bin/supply reads in place of manifest.yml (runtime-table.ts)
    const packagedManifest = parseManifest(manifestText, file);
    const rows = runtimeRows(packagedManifest).map((r) => {
      const slim = runtimeFiles.get(r.uri);
      return slim ? { ...r, file: slim.file, fileSha256: slim.sha256, fileBytes: slim.bytes } : r;
    });
    entries.push({ path: RUNTIME_TABLE_PATH, contents: renderRuntimeTable(rows, manifestText, 'sidecar-buildpack package'), mode: 0o644 });
    // the packaged manifest as the parser reads it: staging reads this instead of parsing YAML
    entries.push({ path: COMPILED_MANIFEST_PATH, contents: renderCompiledManifest(packagedManifest, manifestText, 'sidecar-buildpack package'), mode: 0o644 });
    // VERSION is exactly the version given (no newline), as libbuildpack writes it.
    entries.push({ path: 'VERSION', contents: version, mode: 0o644 });
    // each carried runtime's code cache for the bundle, recorded by running that runtime here
    if (runtimeFiles.size > 0 && canCarryCodeCache(entries)) {
      work ??= await fs.mkdtemp(path.join(os.tmpdir(), 'sidecar-runtime-'));
      const laidOut = path.join(work, 'buildpack');
      await materialize(entries, laidOut);
      for (const [uri, slim] of runtimeFiles) {
        const stack = rows.find((r) => r.uri === uri && r.stack !== ANY_STACK)?.stack ?? options.stack ?? 'cflinuxfs4';
        const out = path.join(work, `code-cache-${path.basename(path.dirname(path.dirname(slim.file)))}`);
        const outcome = await recordCodeCache(laidOut, path.join(laidOut, ...slim.file.split('/')), stack, out);
        if (outcome.recorded) entries.push({ path: codeCacheZipPath(slim.file), localPath: out, mode: 0o644 });
        emit({ type: 'code-cache', file: codeCacheZipPath(slim.file), ...outcome });
      }
    }

    const fileName = zipFileName({ language: manifest.language, cached: options.cached, stack: options.stack, version, variant });
    const zipPath = path.join(path.resolve(options.outputDir ?? dir), fileName);
    let zip: Awaited<ReturnType<typeof writeReproducibleZip>>;
    try {
      zip = await writeReproducibleZip(entries, zipPath, zipEpoch(env.SOURCE_DATE_EPOCH));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!code) throw err;
      throw new PackagerError(`cannot write ${zipPath}: ${(err as Error).message}`, 'ZIP_WRITE_FAILED', { cause: err });
    }
    return {
      zipPath,
      fileName,
      bytes: zip.bytes,
      sha256: zip.sha256,
      language: manifest.language,
      version,
      stack: options.stack,
      cached: options.cached,
      dependencies: packaged,
      manifestBytes,
      warnings,
    };
  } finally {
    if (work) await fs.rm(work, { recursive: true, force: true });
  }
}
