// The local builder: runs supply buildpacks then the final buildpack with the real argv and the
// staging env, merges launch.yml files, writes the droplet dir and the staging result
// (CONTRACT §1), failing with the builder's own messages and exit statuses.

import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { StagingResult } from '../types.js';
import { buildpackMetadata } from './buildpack-metadata.js';
import { malformedMessage, resolveBuildpack, type ResolvedBuildpack } from './buildpack-source.js';
import { copyApp } from './cfignore.js';
import { stagingEnv, type AppIdentity } from './env.js';
import { LaunchParseError, mergeLaunch, parseLaunchYml, parseProcfile, parseRelease, toResultParts, type LaunchProcess, type MergeNote } from './launch-merge.js';
import type { LogBook } from './log-book.js';
import { exists, isExecutable, runScript } from './script.js';

export const SUPPLY_FAIL = 'Failed to run all supply scripts';
export const NO_SUPPLY_SCRIPT = 'Error: one of the buildpacks chosen to supply dependencies does not support multi-buildpack apps';
export const MISSING_FINALIZE_WARNING =
  'Warning: the last buildpack is not compatible with multi-buildpack apps and cannot make use of any dependencies supplied by the buildpacks specified before it';
export const COMPILE_FAIL = 'Failed to compile droplet';
export const FINALIZE_FAIL = 'Failed to run finalize script';
export const RELEASE_FAIL = 'Failed to build droplet release';

/** A staging failure: the builder's message; `exitStatus` as the builder derives it. */
export class BuilderFailure extends Error {
  readonly exitStatus: number;
  constructor(message: string) {
    super(message);
    this.exitStatus = builderExitStatus(message);
  }
}

/** The builder maps its error text to an exit status by the messages it contains. */
export function builderExitStatus(message: string): number {
  if (message.includes('None of the buildpacks detected a compatible application')) return 222;
  if (message.includes(COMPILE_FAIL)) return 223;
  if (message.includes(RELEASE_FAIL)) return 224;
  if (message.includes(SUPPLY_FAIL) || message.includes(NO_SUPPLY_SCRIPT)) return 225;
  if (message.includes(FINALIZE_FAIL)) return 226;
  return 1;
}

export interface StageInput {
  app: AppIdentity;
  appDir: string;
  buildpacks: string[];
  appEnv: Record<string, string>;
  hostEnv: Record<string, string | undefined>;
  stack: string;
  vcapServices: string;
  /** Scratch space of this staging; the droplet ends up in `<workDir>/droplet`. */
  workDir: string;
  /** The app's cache root: survives between stagings of the same app. */
  cacheRoot: string;
  log: LogBook;
}

export interface StageOutput {
  /** The droplet root: app/, deps/, profile.d/, tmp/, logs/ (HOME at launch). */
  dropletDir: string;
  result: StagingResult;
  /** The final buildpack's `config.entrypoint_prefix`, if any. */
  entrypointPrefix?: string;
  notes: MergeNote[];
}

const TAG = 'STG/0';

/** Stage the app. Throws BuilderFailure (already logged) when the builder would fail. */
export async function stage(input: StageInput): Promise<StageOutput> {
  const { log } = input;
  log.add(TAG, 'OUT', 'Creating container');
  log.add(TAG, 'OUT', 'Successfully created container');
  try {
    const output = await build(input);
    log.add(TAG, 'OUT', 'Exit status 0');
    log.add(TAG, 'OUT', 'Uploading droplet, build artifacts cache...');
    log.add(TAG, 'OUT', 'Uploading complete');
    return output;
  } catch (e) {
    if (e instanceof BuilderFailure) {
      log.add(TAG, 'ERR', e.message);
      log.add(TAG, 'OUT', `Exit status ${e.exitStatus}`);
    }
    throw e;
  } finally {
    log.add(TAG, 'OUT', 'Destroying container');
    log.add(TAG, 'OUT', 'Successfully destroyed container');
  }
}

async function build(input: StageInput): Promise<StageOutput> {
  const { log, workDir } = input;
  const out = () => log.writer(TAG, 'OUT');
  const err = () => log.writer(TAG, 'ERR');
  const contents = path.join(workDir, 'droplet');
  const buildDir = path.join(workDir, 'app');
  const depsDir = path.join(contents, 'deps');
  const profileDir = path.join(contents, 'profile.d');
  const n = input.buildpacks.length;
  const width = String(Math.max(n - 1, 0)).length;
  const idx = (i: number) => String(i).padStart(width, '0');
  const home = path.join(workDir, 'staging-home');
  const tmp = path.join(workDir, 'staging-tmp');
  for (const d of [contents, profileDir, home, tmp]) await mkdir(d, { recursive: true });
  for (let i = 0; i < n; i++) await mkdir(path.join(depsDir, idx(i)), { recursive: true });

  log.add(TAG, 'OUT', 'Downloading app package...');
  await copyApp(input.appDir, buildDir);
  log.add(TAG, 'OUT', 'Downloaded app package');
  const cacheDirs = await prepareCaches(input.cacheRoot, input.buildpacks.slice(0, -1));
  const env = stagingEnv({ app: input.app, appEnv: input.appEnv, hostEnv: input.hostEnv, stack: input.stack, home, tmpDir: tmp, vcapServices: input.vcapServices });
  const run = async (bp: ResolvedBuildpack, script: string, args: string[], capture = false) => {
    const file = path.join(bp.dir, 'bin', script);
    if (!(await isExecutable(file))) log.add(TAG, 'ERR', `WARNING: buildpack script '/bin/${script}' is not executable`);
    return runScript(file, args, { env, cwd: buildDir, out: capture ? undefined : out(), err: err(), capture });
  };
  const fail = (message: string): never => {
    throw new BuilderFailure(message);
  };

  if (n === 0) fail('None of the buildpacks detected a compatible application');
  // Resolve every buildpack first, then check the supply ones, as the builder validates before running.
  const resolved: Array<ResolvedBuildpack | undefined> = [];
  for (let i = 0; i < n; i++) resolved.push(await resolveBuildpack(input.buildpacks[i], path.join(workDir, 'buildpacks', String(i))));
  for (let i = 0; i < n - 1; i++) {
    const bp = resolved[i];
    if (!bp) {
      log.add(TAG, 'ERR', malformedMessage(input.buildpacks[i]));
      fail(`${SUPPLY_FAIL}: ${malformedMessage(input.buildpacks[i])}`);
    } else if (!(await exists(path.join(bp.dir, 'bin', 'supply')))) fail(NO_SUPPLY_SCRIPT);
  }
  for (let i = 0; i < n - 1; i++) {
    const r = await run(resolved[i] as ResolvedBuildpack, 'supply', [buildDir, cacheDirs[i], depsDir, idx(i)]);
    if (!r.ok) fail(`${SUPPLY_FAIL}: ${r.error}`);
  }
  const final = resolved[n - 1] ?? fail(`${SUPPLY_FAIL}: ${malformedMessage(input.buildpacks[n - 1])}`);
  const finalCache = path.join(input.cacheRoot, 'final');
  if (await exists(path.join(final.dir, 'bin', 'finalize'))) {
    if (await exists(path.join(final.dir, 'bin', 'supply'))) {
      const r = await run(final, 'supply', [buildDir, finalCache, depsDir, idx(n - 1)]);
      if (!r.ok) fail(`${COMPILE_FAIL}: ${SUPPLY_FAIL}: ${r.error}`);
    }
    const r = await run(final, 'finalize', [buildDir, finalCache, depsDir, idx(n - 1), profileDir]);
    if (!r.ok) fail(`${COMPILE_FAIL}: ${FINALIZE_FAIL}: ${r.error}`);
  } else {
    if (n > 1) log.add(TAG, 'ERR', MISSING_FINALIZE_WARNING);
    // The builder removes the unused deps dir of an old-style final buildpack.
    await rm(path.join(depsDir, idx(n - 1)), { recursive: true, force: true });
    const r = await run(final, 'compile', [buildDir, finalCache]);
    if (!r.ok) fail(`${COMPILE_FAIL}: ${COMPILE_FAIL}: ${r.error}`);
  }

  const notes: MergeNote[] = [];
  const merged = await mergeAll(depsDir, n, buildDir, () => run(final, 'release', [buildDir], true), notes);
  const parts = toResultParts(merged);
  for (const note of notes) {
    log.add(TAG, 'ERR', `WARNING: launch.yml entry '${note.type}' (a ${note.to}) replaced the ${note.from} of the same type`);
  }
  if (!parts.process_types.web) {
    log.add(TAG, 'ERR', 'No start command specified by buildpack or via Procfile.');
    log.add(TAG, 'ERR', 'App will not start unless a command is provided at runtime.');
  }
  const buildpacks = await buildpackMetadata(input.buildpacks, depsDir, idx, (line) => log.add(TAG, 'OUT', line));
  const last = buildpacks[buildpacks.length - 1];
  const result: StagingResult = {
    lifecycle_metadata: { buildpack_key: last.key, detected_buildpack: last.name ?? '', buildpacks },
    process_types: parts.process_types,
    processes: parts.processes,
    sidecars: parts.sidecars,
    execution_metadata: '',
    lifecycle_type: 'buildpack',
  };
  for (const d of ['tmp', 'logs']) await mkdir(path.join(contents, d), { recursive: true });
  await rename(buildDir, path.join(contents, 'app'));
  const prefix = last.config?.entrypoint_prefix;
  return { dropletDir: contents, result, entrypointPrefix: typeof prefix === 'string' && prefix ? prefix : undefined, notes };
}

/** Per-buildpack cache dirs under the app cache; dirs of buildpacks no longer used are removed. */
async function prepareCaches(cacheRoot: string, supply: string[]): Promise<string[]> {
  const dirs = supply.map((key) => path.join(cacheRoot, createHash('sha256').update(key).digest('hex').slice(0, 16)));
  const keep = new Set([path.join(cacheRoot, 'final'), ...dirs]);
  await mkdir(cacheRoot, { recursive: true });
  for (const name of await readdir(cacheRoot)) {
    const d = path.join(cacheRoot, name);
    if (!keep.has(d)) await rm(d, { recursive: true, force: true });
  }
  for (const d of keep) await mkdir(d, { recursive: true });
  return dirs;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The builder's merge over the files on disk (launch.yml at the *unpadded* index, CONTRACT §1). */
async function mergeAll(
  depsDir: string,
  n: number,
  buildDir: string,
  release: () => Promise<{ ok: boolean; error?: string; stdout: string }>,
  notes: MergeNote[],
): Promise<LaunchProcess[]> {
  const launchAt = async (i: number) => {
    const text = await readOptional(path.join(depsDir, String(i), 'launch.yml'));
    if (text === undefined) return undefined;
    try {
      return parseLaunchYml(text);
    } catch (e) {
      throw new BuilderFailure((e as Error).message);
    }
  };
  const supply: Array<LaunchProcess[] | undefined> = [];
  for (let i = 0; i < n - 1; i++) supply.push(await launchAt(i));
  const final = await launchAt(n - 1);
  let releaseProcs: LaunchProcess[] | undefined;
  if (!final) {
    const r = await release();
    if (!r.ok) throw new BuilderFailure(`${RELEASE_FAIL}: ${r.error}`);
    try {
      releaseProcs = parseRelease(r.stdout);
    } catch (e) {
      throw new BuilderFailure(`${RELEASE_FAIL}: ${(e as LaunchParseError).message}`);
    }
  }
  const procfileText = await readOptional(path.join(buildDir, 'Procfile'));
  let procfile: LaunchProcess[] | undefined;
  try {
    procfile = procfileText === undefined ? undefined : parseProcfile(procfileText);
  } catch {
    throw new BuilderFailure('Failed to read command from Procfile: invalid YAML');
  }
  return mergeLaunch({ supply, final, release: releaseProcs, procfile }, notes);
}
