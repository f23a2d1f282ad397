// The supply step (CONTRACT §1): for each declared sidecar, resolve its dependency's version,
// install it into <deps>/<idx>/<dependency>/, and declare it in launch.yml; then config.yml.
// Pure orchestration: manifest, installer, logger and env are all passed in.

import { readdirSync, type Dirent } from 'node:fs';
import path from 'node:path';
import type { DependencyInstaller } from '../deps/types.js';
import { ManifestError } from '../errors.js';
import { DepsDirWriter, reservedNameProblem } from '../depsdir/writer.js';
import type { LaunchProcess } from '../launch/launch-yml.js';
import type { Logger } from '../log/logger.js';
// the manifest modules staging needs, not manifest/index.js: that would load the YAML parser,
// which a staging with a compiled manifest never needs (manifest/staging.ts)
import { applyOverrides, overrideVariableName, type OverrideResult } from '../manifest/overrides.js';
import { answersStack, type StagingAnswers } from '../manifest/compiled.js';
import { checkStackSupport, getEntry, resolveEntry } from '../manifest/query.js';
import { installWarnings, installWarningsFrom, stackWarnings } from '../manifest/warnings.js';
import type { Manifest } from '../manifest/types.js';
import { checkSidecarMemory, memorySource, type StagedMemory } from '../sidecar/memory.js';
import { checkOtherProxies } from '../sidecar/proxy.js';
import { renderSidecar, splitCommand } from '../sidecar/render.js';
import { checkBuildpackVersion, storeBuildpackMetadata } from './metadata.js';
import { statOrNone } from '../sync-fs.js';

/** The staging arguments and environment of one `bin/supply` run. */
export interface SupplyContext {
  buildDir: string;
  cacheDir: string;
  depsDir: string;
  /** As given on the command line (zero-padded). */
  depsIdx: string;
  /** `CF_STACK`; undefined when unset (a hand-run staging): dependencies of every stack count. */
  stack: string | undefined;
  /** The staging environment (app env included): read for overrides. */
  env: Record<string, string | undefined>;
  now: Date;
}

/** The collaborators supply needs (consumer-side, STYLE.md). */
export interface SupplyDeps {
  manifest: Manifest;
  /**
   * The compiled manifest's answers to the version questions (manifest/compiled.ts): used for a
   * sidecar without a version override, so that staging needs no semver. Absent: all are asked.
   */
  answers?: StagingAnswers;
  /** The buildpack's VERSION. */
  buildpackVersion: string;
  installer: Pick<DependencyInstaller, 'install' | 'cleanupAppCache'>;
  logger: Logger;
}

export interface SupplyResult {
  installed: { sidecar: string; dependency: string; version: string }[];
  skipped: string[];
}

function titleCase(s: string): string {
  return s.replace(/(^|[-_ ])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

export async function supply(ctx: SupplyContext, deps: SupplyDeps): Promise<SupplyResult> {
  const { manifest, logger } = deps;
  logger.beginStep(`${titleCase(manifest.language)} Buildpack version ${deps.buildpackVersion}`);
  const changed = await checkBuildpackVersion(ctx.cacheDir, manifest.language, deps.buildpackVersion);
  if (changed) logger.warning(changed);
  if (ctx.stack === undefined) {
    logger.warning('CF_STACK is not set: dependencies built for any stack are considered');
  } else {
    for (const w of stackWarnings(ctx.stack)) logger.warning(w);
    checkStackSupport(manifest, ctx.stack);
  }

  // Before anything is installed: a dependency dir that is also one of supply's own (`sidecars`,
  // `bin`...) would let the dependency's files decide where supply's scripts land.
  manifest.sidecars.forEach((s, i) => {
    const problem = reservedNameProblem(s.dependency);
    if (problem) throw new ManifestError(manifest.file, `sidecars[${i}].dependency`, problem);
  });

  const writer = new DepsDirWriter(ctx.depsDir, ctx.depsIdx);
  const processes: LaunchProcess[] = [];
  const result: SupplyResult = { installed: [], skipped: [] };

  const staged: { spec: OverrideResult['spec']; key: string; versionConstraint?: string; applied: string[] }[] = [];
  for (const [i, declared] of manifest.sidecars.entries()) {
    const { spec, versionConstraint, disabled, applied } = applyOverrides(declared, ctx.env);
    if (disabled) {
      logger.beginStep(`Skipping sidecar ${spec.name}: ${overrideVariableName(spec.name, 'DISABLED')} is set`);
      result.skipped.push(spec.name);
      continue;
    }
    staged.push({ spec, key: `sidecars[${i}]`, applied, ...(versionConstraint !== undefined ? { versionConstraint } : {}) });
  }
  // Before anything is downloaded: sidecars that leave web no memory (issue 12 §4).
  checkSidecarMemory(
    staged.map((s): StagedMemory => ({ spec: s.spec, source: memorySource(s.spec, ctx.env, `${path.basename(manifest.file)} ${s.key}`) })),
    ctx.env.MEMORY_LIMIT,
  );
  await checkOtherProxies(ctx.depsDir, ctx.depsIdx, staged, manifest.file);

  for (const { spec, key, versionConstraint, applied } of staged) {
    for (const a of applied) logger.info(`Sidecar ${spec.name}: using ${a}`);
    // Pure, and refuses a launch.yml command over Cloud Controller's limit before any download.
    const rendered = renderSidecar(spec, ctx.depsIdx, { file: manifest.file, key });
    const known = versionConstraint === undefined ? deps.answers?.[answersStack(ctx.stack)]?.[spec.dependency] : undefined;
    const entry = known ? getEntry(manifest, spec.dependency, known.version, ctx.stack) : resolveEntry(manifest, spec.dependency, ctx.stack, versionConstraint);
    if (!entry.sha256) {
      // libbuildpack tolerates md5-only entries; a sidecar is never installed unverified
      const index = manifest.dependencies.indexOf(entry);
      throw new ManifestError(manifest.file, `dependencies[${index}].sha256`, `missing: ${entry.name} ${entry.version} cannot be verified`);
    }
    const installed = await deps.installer.install(entry, writer.resolve(spec.dependency), { stripComponents: spec.strip_components });
    await checkCommand(installed.dir, spec.command, `${entry.name} ${entry.version}`, manifest.file, `${key}.command`);
    for (const w of known ? installWarningsFrom(manifest, entry, known, ctx.now) : installWarnings(manifest, entry, ctx.stack, ctx.now)) logger.warning(w);

    for (const f of rendered.files) await writer.writeFile(f.path, f.contents, f.mode);
    processes.push(rendered.process);
    result.installed.push({ sidecar: spec.name, dependency: entry.name, version: entry.version });
  }

  await writer.writeLaunch(processes);
  await writer.writeConfig({ name: manifest.language, version: deps.buildpackVersion });
  await deps.installer.cleanupAppCache();
  await storeBuildpackMetadata(ctx.cacheDir, manifest.language, deps.buildpackVersion);
  return result;
}

/** Most top-level entries of a dependency listed when its command is missing. */
const LISTED = 20;

/**
 * The sidecar's command must be an executable file of the installed dependency (a link inside it
 * counts): otherwise staging would succeed and every start would fail. The error names the
 * command and lists what the dependency holds at its top level.
 */
async function checkCommand(dir: string, command: string, what: string, file: string, key: string): Promise<void> {
  const { file: rel } = splitCommand(command);
  const stat = statOrNone(path.join(dir, rel));
  if (stat?.isFile() && (stat.mode & 0o111) !== 0) return;
  const problem = stat === undefined ? 'is not in' : stat.isFile() ? 'is not executable in' : 'is not a file in';
  const entries = listOrNone(dir);
  const names = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
  const shown = names.length > LISTED ? `${names.slice(0, LISTED).join(', ')} and ${names.length - LISTED} more` : names.join(', ') || 'nothing';
  throw new ManifestError(file, key, `${JSON.stringify(rel)} ${problem} the installed ${what}, which holds: ${shown}`);
}

function listOrNone(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
