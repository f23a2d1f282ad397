// `sidecar-buildpack push`: stage and run an app on the local platform (or a foundation through
// cf), stream its staging log and tagged logs, and stop and delete it on SIGINT/SIGTERM.

import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { InterruptedError, UsageError } from '../../errors.js';
import { CfPlatform, cfConfigFromEnv, DeployError, LocalPlatform, readAppManifest, type Deployment, type Platform } from '../../platform/index.js';
import { readCredentials, readServicesFile, serviceCatalog, userProvidedService, type ServiceInstance } from '../../platform/services.js';
import { TIME_SCALE_ENV, timeScaleFrom } from '../../platform/backoff.js';
import { stateRoot } from '../../platform/state.js';
import { mergeVars, parseVarPairs, readVarsFile, type Vars } from '../../platform/vars.js';
import { pushDetached } from './supervise.js';
import type { CliIO, StopSignal } from '../io.js';

/** What `push` is asked to do (its flags, resolved against `io.cwd`). */
export interface PushOptions {
  appDir: string;
  /** `-b`, in order: directories, zips or names (see resolveBuildpacks). */
  buildpacks: string[];
  /** `-f`; default `<appDir>/manifest.yml` when it exists. */
  manifest?: string;
  stack?: string;
  /** `--env K=V`, over the manifest's `env:`. */
  env: Record<string, string>;
  platform: 'local' | 'cf';
  /** Where `fixtures/buildpacks/final` lives; default: this package's root. */
  toolkitRoot?: string;
  /** Local platform work root (droplets, app caches); default the platform's own. */
  workRoot?: string;
  /** `--var` over `--vars-file` values, for the manifest's `((name))`. */
  vars?: Vars;
  /** Services that exist (`--service`/`--credentials`, `--services-file`). */
  serviceCatalog?: ServiceInstance[];
  /** Restart delays (Diego's back-off) times this, in (0, 1] (`--time-scale`; default SIDECAR_BUILDPACK_TIME_SCALE, else 1). */
  timeScale?: number;
  /** Called when the first start failed but the app stays, restarting (the local platform). */
  onStartFailure?: (deployment: Deployment, error: DeployError) => void;
  /** Called once the instance runs (tests use it to kill processes). */
  onRunning?: (deployment: Deployment) => void;
}

const URL_RE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** This package's root: the nearest parent of this module holding the fixture final buildpack. */
export function defaultToolkitRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'fixtures', 'buildpacks', 'final', 'bin'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new UsageError('cannot find fixtures/buildpacks/final next to sidecar-buildpack: pass -b with a final buildpack');
    dir = up;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The names a local buildpack (dir or zip) answers to: its base name, `<language>`, `<language>_buildpack`. */
function namesOf(bp: string): string[] {
  const base = path.basename(bp).replace(/\.zip$/i, '');
  const names = [base];
  // A packaged zip is `<language>_buildpack[-cached][-<stack>]-v<version>`: its name is the first part.
  const zipName = /^(.+?_buildpack)(?:-cached)?(?:-[a-z0-9]+)*-v[^-]+$/.exec(base);
  if (zipName) names.push(zipName[1]);
  const manifest = path.join(bp, 'manifest.yml');
  if (isDir(bp) && existsSync(manifest)) {
    try {
      const language = (parse(readFileSync(manifest, 'utf8')) as { language?: unknown } | null)?.language;
      if (typeof language === 'string' && language) names.push(language, `${language}_buildpack`);
    } catch {
      // a buildpack with an unreadable manifest still answers to its directory name
    }
  }
  return names;
}

/** A buildpack needing no final one after it (it can finalize or compile an app itself). */
function isFinal(bp: string): boolean {
  return isDir(bp) && (existsSync(path.join(bp, 'bin', 'finalize')) || existsSync(path.join(bp, 'bin', 'compile')));
}

/** How the buildpack list was chosen, with a note per name that stands for something local. */
export interface ResolvedBuildpacks {
  buildpacks: string[];
  notes: string[];
}

/**
 * Choose and resolve the buildpack list, as `cf push` chooses it and as far as this machine can:
 * - the list is `-b` if given, else the manifest's `buildpacks:`, else the current directory's
 *   buildpack, followed by the fixture final buildpack when the current directory cannot finalize;
 * - when the manifest lists buildpacks and every `-b` is a local path matching one of its entries
 *   (same base name, zip name `<language>_buildpack`, or `language:`; a URL by its last segment;
 *   a local entry by its own names), the `-b` paths stand for those entries instead of replacing
 *   the list;
 * - an existing path (relative to the cwd for `-b`, to the manifest for `buildpacks:`) is used as is;
 * - on the local platform, `final`, `final_buildpack` and any other unresolved `*_buildpack` name
 *   or URL in the last position stand for the fixture final buildpack; other names and URLs fail.
 *   On cf, names and URLs pass through to the foundation.
 */
export function resolveBuildpacks(opts: { given: string[]; manifestBuildpacks: string[]; manifestDir: string; cwd: string; platform: 'local' | 'cf'; toolkitRoot: () => string }): ResolvedBuildpacks {
  const notes: string[] = [];
  const fromCwd = (b: string) => path.resolve(opts.cwd, b);
  // `-b NAME=DIR_OR_ZIP`: an explicit stand-in for the manifest entry NAME (a name or URL).
  const explicit = explicitBindings(opts.given, opts.manifestBuildpacks, fromCwd);
  if (explicit.size > 0) {
    for (const [entry, p] of explicit) notes.push(`buildpack ${entry} is ${p} (-b ${entry}=...)`);
    opts = { ...opts, given: opts.given.filter((g) => !isExplicit(g, fromCwd)) };
    if (opts.given.length === 0) return finishList(opts.manifestBuildpacks.map((entry) => ({ entry, base: opts.manifestDir })), explicit, opts, notes);
  }
  const givenPaths = opts.given.map((b) => (URL_RE.test(b) || !existsSync(fromCwd(b)) ? undefined : fromCwd(b)));
  const finalBp = () => path.join(opts.toolkitRoot(), 'fixtures', 'buildpacks', 'final');

  let list: { entry: string; base: string }[];
  let bindings = new Map<string, string>();
  if (opts.manifestBuildpacks.length > 0 && opts.given.length > 0 && givenPaths.every((p) => p !== undefined)) {
    const wanted = opts.manifestBuildpacks.map((entry) => ({ entry, names: new Set(entryNames(entry, opts.manifestDir)) }));
    const matches = givenPaths.map((p) => wanted.find((w) => namesOf(p as string).some((n) => w.names.has(n)))?.entry);
    if (matches.every((m) => m !== undefined)) {
      bindings = new Map(matches.map((m, i) => [m as string, givenPaths[i] as string]));
      for (const [entry, p] of bindings) notes.push(`buildpack ${entry} is ${p} (-b)`);
    }
  }
  if (opts.given.length > 0 && bindings.size === 0) list = opts.given.map((entry) => ({ entry, base: opts.cwd }));
  else if (opts.manifestBuildpacks.length > 0) list = opts.manifestBuildpacks.map((entry) => ({ entry, base: opts.manifestDir }));
  else {
    const own = opts.cwd;
    if (!existsSync(path.join(own, 'bin'))) throw new UsageError(`no buildpack given: ${own} has no bin/ (pass -b DIR_OR_ZIP or list buildpacks: in the app manifest)`);
    const bps = [own];
    if (!isFinal(own)) {
      bps.push(finalBp());
      notes.push(`buildpacks: ${own} (supply), then the fixture final buildpack ${finalBp()}`);
    }
    return { buildpacks: bps, notes };
  }

  for (const [k, v] of explicit) bindings.set(k, v);
  return finishList(list, bindings, opts, notes);
}

type ResolveOpts = Parameters<typeof resolveBuildpacks>[0];

/** The list with bound entries replaced, local paths resolved, and the fixture final buildpack standing in where allowed. */
function finishList(list: { entry: string; base: string }[], bindings: Map<string, string>, opts: ResolveOpts, notes: string[]): ResolvedBuildpacks {
  const finalBp = () => path.join(opts.toolkitRoot(), 'fixtures', 'buildpacks', 'final');
  const buildpacks = list.map(({ entry, base }, i) => {
    const bound = bindings.get(entry);
    if (bound) return bound;
    const local = path.resolve(base, entry);
    if (!URL_RE.test(entry) && existsSync(local)) return local;
    if (opts.platform === 'cf') return entry;
    const last = i === list.length - 1;
    if (entry === 'final' || entry === 'final_buildpack' || (last && (/_buildpack$/.test(entry) || URL_RE.test(entry)))) {
      notes.push(`buildpack ${entry} stands for the fixture final buildpack ${finalBp()} on the local platform`);
      return finalBp();
    }
    throw new UsageError(`buildpack ${entry} is not a directory or zip here, and the local platform cannot fetch buildpacks by name or URL: pass -b DIR_OR_ZIP (a -b whose name matches ${lastSegment(entry)} stands for it)`);
  });
  return { buildpacks, notes };
}

/** `NAME=PATH` (split at the last `=`, as a URL may hold one), unless the whole value is an existing path. */
const isExplicit = (g: string, fromCwd: (p: string) => string): boolean => {
  const eq = g.lastIndexOf('=');
  return eq > 0 && eq < g.length - 1 && !existsSync(fromCwd(g));
};

/** `-b NAME=DIR_OR_ZIP` pairs: NAME must be an entry of the manifest's buildpacks:, the path must exist. */
function explicitBindings(given: string[], manifestBuildpacks: string[], fromCwd: (p: string) => string): Map<string, string> {
  const out = new Map<string, string>();
  for (const g of given) {
    if (!isExplicit(g, fromCwd)) continue;
    const eq = g.lastIndexOf('=');
    const name = g.slice(0, eq);
    const p = fromCwd(g.slice(eq + 1));
    if (!manifestBuildpacks.includes(name)) {
      throw new UsageError(`-b ${g}: ${name} is not in the manifest's buildpacks: (${manifestBuildpacks.length ? manifestBuildpacks.join(', ') : 'none'})`);
    }
    if (!existsSync(p)) throw new UsageError(`-b ${g}: ${p} does not exist`);
    out.set(name, p);
  }
  return out;
}

/** The names a manifest entry answers to: a local buildpack's names, else its name or URL's last segment. */
function entryNames(entry: string, base: string): string[] {
  const local = path.resolve(base, entry);
  return !URL_RE.test(entry) && existsSync(local) ? namesOf(local) : [lastSegment(entry)];
}

/** `https://github.com/x/part2-sidecar-buildpack.git#v1` → `part2-sidecar-buildpack`; names unchanged. */
function lastSegment(entry: string): string {
  if (!URL_RE.test(entry)) return entry;
  const p = entry.replace(/[#?].*$/, '').replace(/\/+$/, '');
  return path.posix.basename(p).replace(/\.(git|zip)$/i, '');
}

/** `K=V` pairs into a map (V may contain `=`). */
export function parseEnvPairs(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env ${JSON.stringify(pair)}: use NAME=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/**
 * Push the app and keep it running until `signal` aborts, then delete it. Writes the staging
 * log as it happens, then `url: <url>`, then the instance's tagged logs, to `io.stdout`.
 * Rejects with the platform's DeployError (its logs already written) when staging or start fails.
 */
export async function runPush(options: PushOptions, io: CliIO, signal: AbortSignal): Promise<void> {
  const appDir = path.resolve(io.cwd, options.appDir);
  if (!isDir(appDir)) throw new UsageError(`app directory ${appDir} does not exist`);
  const defaultManifest = path.join(appDir, 'manifest.yml');
  const manifest = options.manifest ? path.resolve(io.cwd, options.manifest) : existsSync(defaultManifest) ? defaultManifest : undefined;
  const appManifest = manifest ? await readAppManifest(manifest, options.vars ?? {}) : undefined;
  const toolkitRoot = () => options.toolkitRoot ?? defaultToolkitRoot();
  const resolved = resolveBuildpacks({
    given: options.buildpacks,
    manifestBuildpacks: appManifest?.buildpacks ?? [],
    manifestDir: manifest ? path.dirname(manifest) : appDir,
    cwd: io.cwd,
    platform: options.platform,
    toolkitRoot,
  });
  for (const note of resolved.notes) io.stderr.write(`note: ${note}\n`);

  // Staging lines stream at once; the instance's lines wait until the url line is out.
  // Held lines are bounded: a process printing without end before the url is out keeps only
  // its last HELD_LINES lines, and the count of the others is printed in their place.
  let held: string[] | undefined = [];
  let heldDropped = 0;
  let streamed = false;
  const print = (line: string) => {
    streamed = true;
    if (held && !/^\[(STG|API)\//.test(line)) {
      held.push(line);
      if (held.length > HELD_LINES) {
        held.shift();
        heldDropped++;
      }
    } else io.stdout.write(`${line}\n`);
  };
  const release = () => {
    if (heldDropped > 0) io.stdout.write(`[CELL/0] ERR ... ${heldDropped} log line(s) dropped before the app was running ...\n`);
    for (const line of held ?? []) io.stdout.write(`${line}\n`);
    held = undefined;
  };
  const platform: Platform =
    options.platform === 'cf'
      ? new CfPlatform({ config: cfConfigFromEnv(io.env), hostEnv: io.env })
      : new LocalPlatform({
          hostEnv: io.env,
          onLog: print,
          // a first start that crashes keeps crashing with back-off, as on a foundation, until deleted
          onFirstStartFailure: 'keep',
          ...(options.timeScale !== undefined ? { timeScale: options.timeScale } : {}),
          ...(options.workRoot ? { workRoot: options.workRoot } : {}),
        });

  let deployment: Deployment;
  let startFailure: DeployError | undefined;
  try {
    deployment = await platform.deploy({
      dir: appManifest?.path ?? appDir,
      buildpacks: resolved.buildpacks,
      env: options.env,
      ...(options.vars ? { vars: options.vars } : {}),
      ...(options.serviceCatalog ? { serviceCatalog: options.serviceCatalog } : {}),
      ...(manifest ? { manifest } : {}),
      ...(options.stack ? { stack: options.stack } : {}),
    }, { signal });
  } catch (err) {
    release();
    // Stopped during staging or start: nothing is left to delete; exit 128+N as a shell would.
    const stopReason: unknown = signal.reason;
    if (signal.aborted && typeof stopReason === 'string' && /^SIG[A-Z]+$/.test(stopReason)) {
      await (err instanceof DeployError ? err.deployment?.delete() : undefined);
      throw new InterruptedError(stopReason, `${stopReason === 'SIGINT' ? 'interrupted' : stopReason}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!(err instanceof DeployError && err.deployment)) {
      // The cf platform does not stream: its transcript comes with the error.
      if (err instanceof DeployError && !streamed && err.logs) io.stdout.write(err.logs.endsWith('\n') ? err.logs : `${err.logs}\n`);
      throw err;
    }
    // The app stays (crashing, restarting with back-off) until deleted, as on a foundation.
    deployment = err.deployment;
    startFailure = err;
    io.stderr.write(`error: ${err.message}\n${deployment.name} stays, restarting with back-off, until deleted (Ctrl-C here, or sidecar-buildpack delete for --detach)\n`);
  }
  try {
    if (options.platform === 'cf') io.stdout.write(deployment.stagingLogs.endsWith('\n') ? deployment.stagingLogs : `${deployment.stagingLogs}\n`);
    io.stdout.write(`url: ${deployment.url}\n`);
    release();
    if (startFailure) options.onStartFailure?.(deployment, startFailure);
    else options.onRunning?.(deployment);
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    io.stderr.write(`stopping ${deployment.name}...\n`);
  } finally {
    await deployment.delete();
  }
  io.stderr.write(`deleted ${deployment.name}\n`);
  // Stopped by a signal (Ctrl-C): the app is deleted; the CLI exits 128+N as a shell would.
  const reason: unknown = signal.reason;
  if (typeof reason === 'string' && /^SIG[A-Z]+$/.test(reason)) throw new InterruptedError(reason, `${reason === 'SIGINT' ? 'interrupted' : reason}: deleted ${deployment.name}`);
}

const collect = (value: string, acc: string[]): string[] => [...acc, value];

/** Instance lines held back until the url line is out. */
const HELD_LINES = 10000;

/** A stop request that never comes: push then runs until its process is killed. */
function never(): StopSignal {
  return { signal: new AbortController().signal, dispose: () => undefined };
}

/** `push`, stopped by `signals` (tests pass their own), else by io.stopSignal (the CLI: SIGINT/SIGTERM). */
export function pushCommand(signals?: () => StopSignal) {
  return (program: Command, io: CliIO): void => {
    program
      .command('push')
      .description('stage and run an app beside its sidecars on this machine (or a foundation), until Ctrl-C')
      .argument('<app-dir>', 'the app directory')
      .option('-b, --buildpack <bp>', 'a buildpack: directory, zip or name (repeatable, in order; the last is final)', collect, [] as string[])
      .option('-f, --manifest <file>', 'the app manifest (default: APP_DIR/manifest.yml when present)')
      .option('--stack <stack>', 'the stack (default: the manifest\'s, else cflinuxfs4)')
      .option('--env <k=v>', 'an app env var (repeatable; over the manifest\'s env:)', collect, [] as string[])
      .option('--platform <p>', 'local (this machine) or cf (CF_API, CF_USERNAME, CF_PASSWORD, CF_ORG, CF_SPACE)', 'local')
      .option('--var <k=v>', 'a value for ((k)) in the app manifest (repeatable; over --vars-file)', collect, [] as string[])
      .option('--vars-file <file>', 'a YAML file of values for the app manifest\'s ((vars)) (repeatable)', collect, [] as string[])
      .option('--service <name>', 'create a user-provided service NAME (repeatable; pair each with --credentials)', collect, [] as string[])
      .option('--credentials <json>', 'the credentials of the matching --service: JSON or @FILE', collect, [] as string[])
      .option('--services-file <file>', 'services as VCAP_SERVICES holds them, {label: [{name, credentials, ...}]}')
      .option('--time-scale <n>', `local: restart delays (Diego's back-off) times n, in (0, 1], e.g. 0.01 (default: $${TIME_SCALE_ENV}, else 1)`)
      .option('--detach', 'return once the app runs; it keeps running in a supervisor process (see apps, logs, run-task, restart, delete)')
      .option('--work-root <dir>', 'local: where droplets (removed on stop) and app caches (kept) live (default: the per-user state dir, $XDG_STATE_HOME or ~/.local/state, sidecar-buildpack/work)')
      .addHelpText(
        'after',
        `
Buildpacks: -b wins over the manifest's buildpacks: (as cf push -b does). Without either,
the current directory's buildpack is used, followed by the fixture final buildpack
(fixtures/buildpacks/final) unless it has bin/finalize or bin/compile.

Names, on the local platform: when every -b path matches an entry of the manifest's
buildpacks: (same directory or zip base name, or <language>_buildpack from a manifest or a zip
name; a URL by its last path segment), the -b paths stand in for those entries and the
manifest's list is kept. "final", "final_buildpack", and a *_buildpack name or URL in the last
position (e.g. ruby_buildpack) stand for the fixture final buildpack. Other names fail. On cf,
names and URLs go to the foundation as they are.

Services: --service NAME --credentials JSON|@FILE makes a user-provided service (label
user-provided), --services-file F adds brokered ones. The manifest's services: binds them by
name (an unknown name fails); without services: every service given is bound.`,
      )
      .action(async (appDir: string, flags: { buildpack: string[]; manifest?: string; stack?: string; env: string[]; platform: string; workRoot?: string; var: string[]; varsFile: string[]; service: string[]; credentials: string[]; servicesFile?: string; detach?: boolean; timeScale?: string }) => {
        if (flags.platform !== 'local' && flags.platform !== 'cf') throw new UsageError(`--platform must be local or cf, not ${JSON.stringify(flags.platform)}`);
        const options: PushOptions = {
          appDir,
          buildpacks: flags.buildpack,
          env: parseEnvPairs(flags.env),
          platform: flags.platform,
          ...(await varsAndServices(flags, io.cwd)),
          ...(flags.manifest ? { manifest: flags.manifest } : {}),
          ...(flags.stack ? { stack: flags.stack } : {}),
          workRoot: flags.workRoot ? path.resolve(io.cwd, flags.workRoot) : path.join(stateRoot(io.env), 'work'),
          ...(flags.timeScale !== undefined ? { timeScale: timeScaleFrom(flags.timeScale, io.env).scale } : {}),
        };
        if (flags.detach) {
          if (options.platform !== 'local') throw new UsageError('--detach is for the local platform (on cf, the foundation keeps the app running)');
          // Paths absolute: the supervisor runs from the same cwd, but its options must not depend on it.
          const detached = { ...options, appDir: path.resolve(io.cwd, appDir), ...(options.manifest ? { manifest: path.resolve(io.cwd, options.manifest) } : {}) };
          return pushDetached(await appNameOf(detached, io), detached, io);
        }
        const { signal, dispose } = (signals ?? io.stopSignal ?? never)();
        try {
          await runPush(options, io, signal);
        } finally {
          dispose();
        }
      });
  };
}

/** The app's name as the platform will call it: the manifest's `name:`, else the app directory's name. */
export async function appNameOf(options: PushOptions, io: CliIO): Promise<string> {
  const appDir = path.resolve(io.cwd, options.appDir);
  const defaultManifest = path.join(appDir, 'manifest.yml');
  const manifest = options.manifest ? path.resolve(io.cwd, options.manifest) : existsSync(defaultManifest) ? defaultManifest : undefined;
  const m = manifest ? await readAppManifest(manifest, options.vars ?? {}) : undefined;
  return m?.name ?? path.basename(m?.path ?? appDir);
}

/** `--var`/`--vars-file` and `--service`/`--credentials`/`--services-file` into PushOptions fields. */
export async function varsAndServices(
  flags: { var: string[]; varsFile: string[]; service: string[]; credentials: string[]; servicesFile?: string },
  cwd: string,
): Promise<Pick<PushOptions, 'vars' | 'serviceCatalog'>> {
  const out: Pick<PushOptions, 'vars' | 'serviceCatalog'> = {};
  if (flags.var.length > 0 || flags.varsFile.length > 0) {
    const files = await Promise.all(flags.varsFile.map((f) => readVarsFile(path.resolve(cwd, f))));
    out.vars = mergeVars(parseVarPairs(flags.var), ...files.reverse());
  }
  if (flags.service.length !== flags.credentials.length) {
    throw new UsageError(`${flags.service.length} --service but ${flags.credentials.length} --credentials: give each --service NAME its --credentials JSON|@FILE`);
  }
  const provided: ServiceInstance[] = [];
  for (let i = 0; i < flags.service.length; i++) provided.push(userProvidedService(flags.service[i], await readCredentials(flags.credentials[i], cwd, flags.service[i])));
  const brokered = flags.servicesFile ? await readServicesFile(path.resolve(cwd, flags.servicesFile)) : [];
  if (provided.length > 0 || brokered.length > 0) out.serviceCatalog = serviceCatalog(provided, brokered);
  return out;
}

/** The registered `push` command (stops on io.stopSignal). */
export const register = pushCommand();
