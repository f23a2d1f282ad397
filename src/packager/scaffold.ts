// `sidecar-buildpack init`: scaffold a sidecar buildpack that packages and stages out of the box
// (manifest with a `sidecars:` entry and a placeholder dependency, shims, bundles, fixture app).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { isMap, type YAMLMap } from 'yaml';
import { PackagerError } from '../errors.js';
import { sha256File } from './download-cache.js';
import { parseManifestDocument, renderManifestDocument, scalarOf, topSeq } from './manifest-doc.js';
import { parseManifest } from '../manifest/parse.js';
import { COMPILED_MANIFEST_PATH, compiledManifestFor } from '../manifest/compiled.js';
import { bundleNeedsLazy, SUPPLY_BUNDLE, SUPPLY_LAZY } from './bundle-files.js';
import { RUNTIME_TABLE_PATH, runtimeTableFor } from './runtime-table.js';
import * as t from './scaffold-templates.js';

/** What a buildpack name may be: it is also the sidecar's and the dependency's name. */
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** The toolkit files every scaffold gets a copy of; the `required` ones must exist. */
const TOOLKIT_FILES = [
  { path: 'bin/detect', mode: 0o755, required: true },
  { path: 'bin/supply', mode: 0o755, required: true },
  { path: 'dist/supply.cjs', mode: 0o644, required: true },
  // required when the bundle requires it (checked below)
  { path: SUPPLY_LAZY, mode: 0o644, required: false },
  { path: 'dist/run.cjs', mode: 0o644, required: false },
  { path: 'dist/detect.cjs', mode: 0o644, required: false },
];

/**
 * The root of the installed sidecar-buildpack package: the nearest directory at or above
 * `from` (default: this module) holding a package.json named `sidecar-buildpack`.
 */
export async function findPackageRoot(from: string = fileURLToPath(import.meta.url)): Promise<string> {
  let dir = path.dirname(path.resolve(from));
  for (;;) {
    try {
      const pkg = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'sidecar-buildpack') return dir;
    } catch {
      // no (readable) package.json here: keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new PackagerError(`cannot find the sidecar-buildpack package above ${from}`, 'PACKAGE_ROOT_NOT_FOUND');
    dir = parent;
  }
}

export interface ScaffoldOptions {
  dir: string;
  name: string;
  /** The toolkit's package root (bin/, dist/, manifest.yml); default: findPackageRoot(). */
  packageRoot?: string;
}

export interface ScaffoldResult {
  dir: string;
  files: string[];
}

async function assertEmptyDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new PackagerError(`${dir} exists and is not a directory`, 'INIT_DIR_NOT_EMPTY');
    throw err;
  }
  if (entries.length > 0) throw new PackagerError(`${dir} is not empty: init only writes into a new or empty directory`, 'INIT_DIR_NOT_EMPTY');
}

/**
 * The toolkit manifest's `node` entries and default: the pinned staging runtime bin/supply uses
 * when the stack has no node, so the new buildpack stages on stacks without one.
 */
async function nodeRuntimeEntries(packageRoot: string): Promise<{ deps: YAMLMap[]; defaults: YAMLMap[] }> {
  let text: string;
  try {
    text = await fs.readFile(path.join(packageRoot, 'manifest.yml'), 'utf8');
  } catch {
    return { deps: [], defaults: [] };
  }
  const doc = parseManifestDocument(text, path.join(packageRoot, 'manifest.yml'));
  const pick = (key: string): YAMLMap[] => {
    const seq = topSeq(doc, key);
    return (seq?.items ?? []).flatMap((item, i) => {
      if (!isMap(item) || scalarOf(item, 'name') !== 'node') return [];
      const copy = item.clone() as YAMLMap;
      // YAML attaches a comment above the first item to the list itself
      if (i === 0 && !copy.commentBefore && seq?.commentBefore) copy.commentBefore = seq.commentBefore;
      return [copy];
    });
  };
  return { deps: pick('dependencies'), defaults: pick('default_versions') };
}

/** Write the scaffold into `dir` (created; must be empty). */
export async function scaffoldBuildpack(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const { name } = options;
  if (!NAME.test(name)) {
    throw new PackagerError(`invalid name ${JSON.stringify(name)}: use lowercase letters, digits and -, starting with a letter`, 'INIT_BAD_NAME');
  }
  const dir = path.resolve(options.dir);
  await assertEmptyDir(dir);
  const root = options.packageRoot ?? (await findPackageRoot());
  for (const f of TOOLKIT_FILES) {
    const exists = await fs.stat(path.join(root, f.path)).then((s) => s.isFile(), () => false);
    if (f.required && !exists) throw new PackagerError(`the toolkit at ${root} has no ${f.path} (a broken install?)`, 'INIT_TOOLKIT_INCOMPLETE');
    if (f.path === SUPPLY_LAZY && !exists && bundleNeedsLazy(await fs.readFile(path.join(root, SUPPLY_BUNDLE), 'utf8'))) {
      throw new PackagerError(`the toolkit at ${root} has no ${f.path}, which its ${SUPPLY_BUNDLE} requires (a broken install?)`, 'INIT_TOOLKIT_INCOMPLETE');
    }
  }

  const files: string[] = [];
  const write = async (rel: string, contents: string, mode = 0o644): Promise<void> => {
    const target = path.join(dir, rel);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, contents, { mode });
    await fs.chmod(target, mode);
    files.push(rel);
  };

  for (const f of TOOLKIT_FILES) {
    const src = path.join(root, f.path);
    if (!(await fs.stat(src).then(() => true, () => false))) continue;
    await fs.mkdir(path.dirname(path.join(dir, f.path)), { recursive: true });
    await fs.copyFile(src, path.join(dir, f.path));
    await fs.chmod(path.join(dir, f.path), f.mode);
    files.push(f.path);
  }

  // The placeholder sidecar, as a release tarball holding bin/<name>.
  const stage = path.join(dir, 'sidecar-src');
  await write(`sidecar-src/bin/${name}`, t.placeholderSidecar(name), 0o755);
  const artifactRel = `artifacts/${name}-${t.PLACEHOLDER_VERSION}-linux-x64.tgz`;
  const artifact = path.join(dir, artifactRel);
  await fs.mkdir(path.dirname(artifact), { recursive: true });
  await tar.c({ gzip: true, file: artifact, cwd: stage, portable: true, mtime: new Date(0) }, ['bin']);
  files.push(artifactRel);
  const sha256 = await sha256File(artifact);

  const manifest = parseManifestDocument(t.manifestTemplate(name, `file://${artifact}`, sha256), path.join(dir, 'manifest.yml'));
  const runtime = await nodeRuntimeEntries(root);
  if (runtime.deps.length > 0) {
    topSeq(manifest, 'dependencies')?.items.push(...runtime.deps);
    topSeq(manifest, 'default_versions')?.items.push(...runtime.defaults);
  }
  const manifestText = renderManifestDocument(manifest);
  await write('manifest.yml', manifestText);
  // what bin/supply reads to find its staging runtime on a stack without node (it reads no YAML)
  await write(RUNTIME_TABLE_PATH, runtimeTableFor(manifestText, path.join(dir, 'manifest.yml'), 'sidecar-buildpack init', parseManifest));
  // the manifest as staging reads it without parsing YAML (it falls back to manifest.yml once that is edited)
  await write(COMPILED_MANIFEST_PATH, compiledManifestFor(manifestText, path.join(dir, 'manifest.yml'), 'sidecar-buildpack init', parseManifest));
  await write('VERSION', '0.1.0\n');
  await write('README.md', t.readmeTemplate(name));
  await write('.gitignore', t.GITIGNORE);
  await write('fixtures/app/Procfile', t.FIXTURE_PROCFILE);
  await write('fixtures/app/server.js', t.FIXTURE_SERVER);
  await write('fixtures/app/package.json', t.FIXTURE_PACKAGE_JSON);
  return { dir, files: files.sort() };
}
