// The local builder: runs supply buildpacks then the final buildpack with the real argv and the
// staging env, merges launch.yml files, writes the droplet dir and the staging result
// (CONTRACT §1), failing with the builder's own messages and exit statuses.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { chmod, chown, lchown, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { StagingResult } from '../types.js';
import { buildpackMetadata } from './buildpack-metadata.js';
import { malformedMessage, resolveBuildpack, type ResolvedBuildpack } from './buildpack-source.js';
import { copyApp } from './cfignore.js';
import { ContainerCgroup } from './cgroups.js';
import { CONTAINER_PATH, MIN_STAGING_MEMORY_MB, STAGING_FILE_DESCRIPTOR_LIMIT, stagingEnv, type AppIdentity } from './env.js';
import { LaunchParseError, mergeLaunch, parseLaunchYml, parseProcfile, parseRelease, toResultParts, type LaunchProcess, type MergeNote } from './launch-merge.js';
import type { LogBook } from './log-book.js';
import type { Cell } from './cell.js';
import { VCAP_UID, writeEtcFiles } from './cell.js';
import { Container, type Bind } from './container.js';
import { withVendoredNode } from './vendored-node.js';
import { linkTree, writtenInPlace, type LinkedFile } from './cache-copy.js';
import { INSTANCE_PIDS } from './sandbox.js';
import { exists, isExecutable, runInContainer, runScript, type ScriptOutcome } from './script.js';

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
  /** The staging container's memory limit was hit (the kernel killed a process of it). */
  outOfMemory = false;
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
  /** Stage in a container of this cell (CONTRACT §1 paths); absent: on this machine's paths. */
  cell?: Cell;
  /** Aborting stops staging at once: the running script and everything it started are killed. */
  signal?: AbortSignal;
  /** Where copies of buildpacks with a vendored node are kept (default: under workDir). */
  vendorRoot?: string;
  /** Called as the final buildpack's scripts start (the supply buildpacks are done), with the droplet's folder on this machine (it keeps its inode when moved to dropletDirOf). */
  onFinalBuildpack?: (droplet: string) => void;
}

/** Staging was stopped through StageInput.signal. */
export class StagingStopped extends Error {
  constructor() {
    super('staging stopped: the push was interrupted');
  }
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
      // the executor's run step: an exit in a container that had an OOM kill says so (run_step.go)
      log.add(TAG, 'OUT', `Exit status ${e.exitStatus}${e.outOfMemory ? ' (out of memory)' : ''}`);
    } else if (e instanceof StagingStopped) log.add(TAG, 'ERR', e.message);
    throw e;
  } finally {
    log.add(TAG, 'OUT', 'Destroying container');
    log.add(TAG, 'OUT', 'Successfully destroyed container');
  }
}

/** Where a staging in `workDir` leaves the droplet root. */
export function dropletDirOf(workDir: string): string {
  return path.join(workDir, 'droplet');
}

/** Where the builder's directories are, as the buildpack scripts see them. */
interface StagingPaths {
  build: string;
  cacheRoot: string;
  contents: string;
  buildpack: (i: number) => string;
  home: string;
  tmp: string;
}

async function build(input: StageInput): Promise<StageOutput> {
  const { log, workDir } = input;
  const out = () => log.writer(TAG, 'OUT');
  const err = () => log.writer(TAG, 'ERR');
  const tmp = path.join(workDir, 'staging-tmp');
  const contentsName = `contents${randomBytes(4).toString('hex')}`;
  // In a container the builder's folders are all in its /tmp, one file system as on a cell (a
  // rename from the cache into deps works there): `tmp` is that /tmp. The droplet moves to
  // dropletDirOf(workDir) once staged.
  const staged = dropletDirOf(workDir);
  const contents = input.cell ? path.join(tmp, contentsName) : staged;
  const buildDir = input.cell ? path.join(tmp, 'app') : path.join(workDir, 'app');
  const depsDir = path.join(contents, 'deps');
  const profileDir = path.join(contents, 'profile.d');
  // the cache is staged in a copy: the builder keeps it only when staging succeeds
  const cacheCopy = input.cell ? path.join(tmp, 'cache') : path.join(workDir, 'cache');
  const n = input.buildpacks.length;
  const width = String(Math.max(n - 1, 0)).length;
  const idx = (i: number) => String(i).padStart(width, '0');
  const home = path.join(workDir, 'staging-home');
  for (const d of [contents, profileDir, home, tmp]) await mkdir(d, { recursive: true });
  // /tmp's own mode
  if (input.cell) await chmod(tmp, 0o1777);
  for (let i = 0; i < n; i++) await mkdir(path.join(depsDir, idx(i)), { recursive: true });

  const fail = (message: string): never => {
    throw new BuilderFailure(message);
  };
  await mkdir(buildDir, { recursive: true });
  // Resolve every buildpack first, then check the supply ones, as the builder validates before running.
  const resolved: Array<ResolvedBuildpack | undefined> = [];
  for (let i = 0; i < n; i++) {
    const bp = await resolveBuildpack(input.buildpacks[i], path.join(workDir, 'buildpacks', String(i)));
    // a stand-in for a language buildpack gets the node it installs (vendored-node.ts)
    resolved.push(bp && { ...bp, dir: await withVendoredNode(bp.dir, input.vendorRoot ?? path.join(workDir, 'vendored')) });
  }

  const inside: StagingPaths = input.cell
    ? {
        build: '/tmp/app',
        cacheRoot: '/tmp/cache',
        contents: `/tmp/${contentsName}`,
        buildpack: (i) => `/tmp/buildpacks/${createHash('md5').update(input.buildpacks[i]).digest('hex')}`,
        // the staging user's home, as in the stack's /etc/passwd
        home: '/home/vcap',
        tmp: '/tmp',
      }
    : { build: buildDir, cacheRoot: cacheCopy, contents, buildpack: (i) => (resolved[i] as ResolvedBuildpack).dir, home, tmp };
  // the container is made while the app and the cache are copied in (its binds are those folders)
  const creating = input.cell && n > 0 ? stagingContainer(input.cell, input.signal, workDir, resolved, inside, { tmp, home }) : undefined;
  creating?.catch(() => undefined);
  // the staging task's limits (CC: memory max(app, minimum_staging_memory_mb); the cell's pids limit)
  const limiting = creating && input.cell?.support.cgroups ? stagingCgroup(input.cell, input.app.memoryMb) : undefined;
  limiting?.catch(() => undefined);
  let cgroup: ContainerCgroup | undefined;
  let container: Container | undefined;
  let cacheKeys: string[];
  let linked: LinkedFile[] = [];
  try {
    log.add(TAG, 'OUT', 'Downloading app package...');
    // the app and the cache are copied at once: neither waits for the other's file operations
    const cacheCopied = (async () => {
      await mkdir(input.cacheRoot, { recursive: true });
      await rm(cacheCopy, { recursive: true, force: true });
      return linkTree(input.cacheRoot, cacheCopy);
    })();
    cacheCopied.catch(() => undefined); // awaited below; handled meanwhile
    // (an app that cannot be copied fails the staging once the cache copy is done with its folder)
    await copyApp(input.appDir, buildDir).catch(async (e: unknown) => {
      await cacheCopied.catch(() => undefined);
      throw e;
    });
    log.add(TAG, 'OUT', 'Downloaded app package');
    linked = await cacheCopied;
    cacheKeys = await prepareCaches(cacheCopy, input.buildpacks.slice(0, -1));
    if (n === 0) fail('None of the buildpacks detected a compatible application');
    if (creating && input.cell) {
      // the scripts run as vcap (CONTRACT §1): what they write to is theirs (rootless: already)
      if (!input.cell.support.tools.rootless) await Promise.all([buildDir, cacheCopy, contents, home].map((d) => chownTree(d, VCAP_UID)));
      container = await creating;
      cgroup = await limiting;
    }
  } catch (e) {
    await (await creating?.catch(() => undefined))?.destroy();
    await (await limiting?.catch(() => undefined))?.remove();
    if (input.signal?.aborted) throw new StagingStopped();
    throw e;
  }
  const stopped = () => container?.destroy();
  input.signal?.addEventListener('abort', stopped, { once: true });
  try {
    if (input.signal?.aborted) throw new StagingStopped();
    const env = stagingEnv({
      app: input.app,
      appEnv: input.appEnv,
      hostEnv: input.hostEnv,
      stack: input.stack,
      home: inside.home,
      tmpDir: inside.tmp,
      vcapServices: input.vcapServices,
      // the stack's tools only (CONTRACT §2): a runtime comes from a buildpack, as on a foundation
      ...(input.cell ? { path: CONTAINER_PATH } : {}),
    });
    const depsIn = `${inside.contents}/deps`;
    const cacheIn = (key: string) => `${inside.cacheRoot}/${key}`;
    const run = async (i: number, script: string, args: string[], capture = false): Promise<ScriptOutcome> => {
      const bp = resolved[i] as ResolvedBuildpack;
      const hostFile = path.join(bp.dir, 'bin', script);
      const file = `${inside.buildpack(i)}/bin/${script}`;
      if (!(await isExecutable(hostFile))) log.add(TAG, 'ERR', `WARNING: buildpack script '/bin/${script}' is not executable`);
      const limits = container ? { procsFiles: cgroup?.procsFiles() ?? [], nofile: STAGING_FILE_DESCRIPTOR_LIMIT } : {};
      const opts = { env, cwd: inside.build, out: capture ? undefined : out(), err: err(), capture, signal: input.signal, uid: VCAP_UID, ...limits };
      const r = container ? await runInContainer(container, hostFile, file, args, opts) : await runScript(file, args, opts);
      if (input.signal?.aborted) throw new StagingStopped();
      return r;
    };

    for (let i = 0; i < n - 1; i++) {
      const bp = resolved[i];
      if (!bp) {
        log.add(TAG, 'ERR', malformedMessage(input.buildpacks[i]));
        fail(`${SUPPLY_FAIL}: ${malformedMessage(input.buildpacks[i])}`);
      } else if (!(await exists(path.join(bp.dir, 'bin', 'supply')))) fail(NO_SUPPLY_SCRIPT);
    }
    for (let i = 0; i < n - 1; i++) {
      const r = await run(i, 'supply', [inside.build, cacheIn(cacheKeys[i]), depsIn, idx(i)]);
      if (!r.ok) fail(`${SUPPLY_FAIL}: ${r.error}`);
    }
    const final = resolved[n - 1] ?? fail(`${SUPPLY_FAIL}: ${malformedMessage(input.buildpacks[n - 1])}`);
    input.onFinalBuildpack?.(contents);
    const finalCache = cacheIn('final');
    if (await exists(path.join(final.dir, 'bin', 'finalize'))) {
      if (await exists(path.join(final.dir, 'bin', 'supply'))) {
        const r = await run(n - 1, 'supply', [inside.build, finalCache, depsIn, idx(n - 1)]);
        if (!r.ok) fail(`${COMPILE_FAIL}: ${SUPPLY_FAIL}: ${r.error}`);
      }
      const r = await run(n - 1, 'finalize', [inside.build, finalCache, depsIn, idx(n - 1), `${inside.contents}/profile.d`]);
      if (!r.ok) fail(`${COMPILE_FAIL}: ${FINALIZE_FAIL}: ${r.error}`);
    } else {
      if (n > 1) log.add(TAG, 'ERR', MISSING_FINALIZE_WARNING);
      // The builder removes the unused deps dir of an old-style final buildpack.
      await rm(path.join(depsDir, idx(n - 1)), { recursive: true, force: true });
      const r = await run(n - 1, 'compile', [inside.build, finalCache]);
      if (!r.ok) fail(`${COMPILE_FAIL}: ${COMPILE_FAIL}: ${r.error}`);
    }

    const notes: MergeNote[] = [];
    const merged = await mergeAll(depsDir, n, buildDir, () => run(n - 1, 'release', [inside.build], true), notes);
    const parts = toResultParts(merged);
    for (const note of notes) {
      log.add(TAG, 'ERR', `WARNING: launch.yml entry '${note.type}' (a ${note.to}) replaced the ${note.from} of the same type`);
    }
    if (!parts.process_types.web) {
      log.add(TAG, 'ERR', 'No start command specified by buildpack or via Procfile.');
      log.add(TAG, 'ERR', 'App will not start unless a command is provided at runtime.');
    }
    const buildpacks = await buildpackMetadata(input.buildpacks, depsDir, idx);
    const last = buildpacks[buildpacks.length - 1];
    const result: StagingResult = {
      lifecycle_metadata: { buildpack_key: last.key, detected_buildpack: last.name ?? '', buildpacks },
      process_types: parts.process_types,
      processes: parts.processes,
      sidecars: parts.sidecars,
      execution_metadata: '',
      lifecycle_type: 'buildpack',
    };
    await container?.destroy();
    container = undefined;
    for (const d of ['tmp', 'logs']) await mkdir(path.join(contents, d), { recursive: true });
    await rename(buildDir, path.join(contents, 'app'));
    await writeFile(path.join(contents, 'staging_info.yml'), stringify({ detected_buildpack: last.name ?? '', start_command: parts.process_types.web ?? '' }));
    // the droplet belongs to the user the instances run as: the scripts wrote theirs as vcap, and
    // what the platform made before them was vcap's already; these it made since
    if (input.cell && !input.cell.support.tools.rootless) {
      for (const p of [contents, path.join(contents, 'tmp'), path.join(contents, 'logs'), path.join(contents, 'staging_info.yml')]) await chown(p, VCAP_UID, VCAP_UID);
    }
    if (contents !== staged) await rename(contents, staged);
    await keepCache(cacheCopy, input.cacheRoot);
    const prefix = last.config?.entrypoint_prefix;
    return { dropletDir: staged, result, entrypointPrefix: typeof prefix === 'string' && prefix ? prefix : undefined, notes };
  } catch (e) {
    if (e instanceof BuilderFailure && (await cgroup?.oomKilled())) e.outOfMemory = true;
    // the kept cache stays as it was, unless the scripts wrote into its (linked) files in place
    const written = await writtenInPlace(linked);
    if (written) {
      log.add(TAG, 'ERR', `local platform: the failed staging wrote into ${path.relative(input.cacheRoot, written)} of the app cache in place, so the cache is dropped (Cloud Foundry would keep the one from before)`);
      await rm(input.cacheRoot, { recursive: true, force: true });
    }
    throw e;
  } finally {
    input.signal?.removeEventListener('abort', stopped);
    await container?.destroy();
    await cgroup?.remove();
  }
}

/** The staging container's cgroups: its memory limit as CC computes it, the pids limit of every container. */
async function stagingCgroup(cell: Cell, appMemoryMb: number): Promise<ContainerCgroup> {
  const roots = cell.support.cgroups;
  if (!roots) throw new Error('no cgroups on this cell');
  const cgroup = new ContainerCgroup(roots, cell.nextName());
  await cgroup.create(Math.max(appMemoryMb, MIN_STAGING_MEMORY_MB), INSTANCE_PIDS);
  return cgroup;
}

/** The staging container: the stack's root, the builder's folders bound at the builder's paths. */
async function stagingContainer(
  cell: Cell,
  signal: AbortSignal | undefined,
  workDir: string,
  resolved: Array<ResolvedBuildpack | undefined>,
  inside: StagingPaths,
  host: { tmp: string; home: string },
): Promise<Container> {
  const stackBin = await cell.prepare();
  // /tmp (app, cache, contents… within it) is the `tmp` layout folder
  const binds: Bind[] = [
    { src: host.home, dest: inside.home },
    ...resolved.flatMap((bp, i) => (bp ? [{ src: bp.dir, dest: inside.buildpack(i), readOnly: true }] : [])),
    ...(await localFileBinds(resolved)),
  ];
  await mkdir(path.join(workDir, 'staging-root'), { recursive: true });
  // the staging task's handle is its guid, and Garden names the container's host after it
  const guid = randomUUID();
  const etcFiles = await writeEtcFiles(path.join(workDir, 'staging-etc'), guid, '127.0.0.1');
  return Container.create(cell.support.tools, { rootDir: path.join(workDir, 'staging-root'), hostname: guid, base: { kind: 'stack', stackBin, etcFiles, localeDir: await cell.locale() }, tmp: host.tmp, binds }, signal);
}

/** Folders of the stack's own root: a file:// dependency there is not this machine's to show. */
const SYSTEM_DIRS = /^\/(usr|etc|proc|dev|sys|bin|sbin|lib|lib32|lib64|libx32|run|var)(\/|$)/;

/**
 * The files named by `file://` URIs in the buildpacks' manifest.yml, read-only at the same path:
 * this machine's files, which a local buildpack (`init`'s placeholder dependency) points at. No
 * foundation can read them (only a cached zip carries them there); locally staging still sees
 * them, and nothing else of this machine.
 */
async function localFileBinds(resolved: Array<ResolvedBuildpack | undefined>): Promise<Bind[]> {
  const files = new Set<string>();
  for (const bp of resolved) {
    if (!bp) continue;
    let doc: unknown;
    try {
      doc = parse(await readFile(path.join(bp.dir, 'manifest.yml'), 'utf8'));
    } catch {
      continue;
    }
    const deps = (doc as { dependencies?: unknown } | null)?.dependencies;
    if (!Array.isArray(deps)) continue;
    for (const d of deps) {
      const uri = (d as { uri?: unknown } | null)?.uri;
      if (typeof uri !== 'string' || !/^file:\/\//i.test(uri)) continue;
      let file: string;
      try {
        file = fileURLToPath(uri);
      } catch {
        continue;
      }
      if (!SYSTEM_DIRS.test(file) && !file.startsWith('/tmp/app') && (await stat(file).then((st) => st.isFile(), () => false))) files.add(file);
    }
  }
  return [...files].map((f) => ({ src: f, dest: f, readOnly: true, file: true }));
}

/** Replace the app cache with the staged copy (only after a successful staging). */
/** Removals of replaced caches still running, by cache root (the next keepCache waits for its own). */
const removing = new Map<string, Promise<void>>();

/**
 * Replace the app cache with the staged copy (only after a successful staging). The replaced one
 * is removed after the push goes on (a cache holding a runtime is 100 MB to unlink); a process
 * that dies first leaves `<cache>.old-<pid>`, which the next staging of the app removes.
 */
async function keepCache(staged: string, cacheRoot: string): Promise<void> {
  const old = `${cacheRoot}.old-${process.pid}`;
  await removing.get(cacheRoot);
  await sweepOldCaches(cacheRoot);
  await rename(cacheRoot, old).catch(() => undefined);
  await rename(staged, cacheRoot);
  const gone = rm(old, { recursive: true, force: true })
    .catch(() => undefined)
    .finally(() => {
      if (removing.get(cacheRoot) === gone) removing.delete(cacheRoot);
    });
  removing.set(cacheRoot, gone);
}

/** `<cache>.old-<pid>` of this process, and of processes that are gone. */
async function sweepOldCaches(cacheRoot: string): Promise<void> {
  const dir = path.dirname(cacheRoot);
  const prefix = `${path.basename(cacheRoot)}.old-`;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      alive = false;
    }
    if (!alive) await rm(path.join(dir, name), { recursive: true, force: true });
  }
}

async function chownTree(dir: string, uid: number): Promise<void> {
  await chown(dir, uid, uid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid);
    else if (e.isSymbolicLink()) await lchown(p, uid, uid);
    else await chown(p, uid, uid);
  }
}

/** Per-buildpack cache dir names under the app cache; dirs of buildpacks no longer used are removed. */
async function prepareCaches(cacheRoot: string, supply: string[]): Promise<string[]> {
  const names = supply.map((key) => createHash('sha256').update(key).digest('hex').slice(0, 16));
  const keep = new Set(['final', ...names]);
  await mkdir(cacheRoot, { recursive: true });
  for (const name of await readdir(cacheRoot)) {
    if (!keep.has(name)) await rm(path.join(cacheRoot, name), { recursive: true, force: true });
  }
  for (const d of keep) await mkdir(path.join(cacheRoot, d), { recursive: true });
  return names;
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
