// The reference buildpack (the repository root) made runnable offline: a temp copy whose
// manifest.yml points its config-server dependency at fixture tarballs, and its `node` staging
// runtime at this machine's node packed as CF's node dependency, both served from 127.0.0.1.
// Shared by the integration specs and `npm run demo`.

import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { cliFetcherFactory } from '../../src/cli/fetcher.js';
import { parseManifest } from '../../src/manifest/parse.js';
import { packageBuildpack, type PackageResult } from '../../src/packager/package.js';
import { RUNTIME_TABLE_PATH, runtimeTableFor } from '../../src/packager/runtime-table.js';
import { nodeRuntimeArchive } from '../../test/helpers/node-runtime.js';
import { buildSupplyBundle } from '../../test/helpers/supply-bundle.js';

/** The repository root: the reference buildpack and its fixtures. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURE_FINAL_BP = path.join(REPO, 'fixtures', 'buildpacks', 'final');
export const HANDMADE_BP = path.join(REPO, 'fixtures', 'buildpacks', 'handmade-sidecar');
export const NODE_APP = path.join(REPO, 'fixtures', 'apps', 'node-app');
export const RUBY_APP = path.join(REPO, 'fixtures', 'apps', 'ruby-app');

/** The buildpack files the reference manifest's include_files names. */
const BUILDPACK_FILES = ['README.md', 'VERSION', 'bin/detect', 'bin/supply', 'dist/run.cjs', 'dist/supply.cjs', 'dist/supply-lazy.cjs', 'manifest.yml'];

/** One served config-server release. */
export interface ConfigServerRelease {
  version: string;
  uri: string;
  sha256: string;
}

/** A temp copy of the reference buildpack whose config-server URIs are served locally. */
export interface ReferenceBuildpack {
  /** The buildpack directory (an uncached buildpack as it would be used from git). */
  dir: string;
  releases: ConfigServerRelease[];
  /** Paths the server was asked for, in order. */
  requests: string[];
  /** Package it with packageBuildpack for cflinuxfs4 into this copy's `zips/`. */
  package(cached: boolean): Promise<PackageResult>;
  /** Close the server: from now on every URI of the manifest is at a closed port. */
  stopServer(): Promise<void>;
  /** Close the server and remove every file. */
  cleanup(): Promise<void>;
}

export interface ReferenceBuildpackOptions {
  /** config-server versions to serve; the manifest's default (`0.0.x`) picks the highest 0.0.z. */
  versions?: string[];
  /**
   * Keep the manifest's own `node` entries (downloaded from the internet at package time: for a
   * real foundation). Default false: they point at this machine's node served from 127.0.0.1
   * (the stack has no node, and the local platform stages on the stack's tools).
   */
  keepNode?: boolean;
}

/** A reproducible .tgz of the fixture config-server (bin/config-server at its root) plus a VERSION file. */
async function configServerTgz(workDir: string, version: string): Promise<Buffer> {
  const src = path.join(workDir, `config-server-${version}`);
  await mkdir(path.join(src, 'bin'), { recursive: true });
  await copyFile(path.join(REPO, 'fixtures', 'config-server', 'bin', 'config-server'), path.join(src, 'bin', 'config-server'));
  await chmod(path.join(src, 'bin', 'config-server'), 0o755);
  await writeFile(path.join(src, 'VERSION'), `${version}\n`);
  const out = path.join(workDir, `config-server-${version}.tgz`);
  await tar.c({ gzip: true, file: out, cwd: src, portable: true, mtime: new Date(0) }, ['bin', 'VERSION']);
  return readFile(out);
}

/** A static file server on 127.0.0.1:0 that records what it was asked for. */
async function serveFiles(files: Map<string, Buffer>, requests: string[]): Promise<{ base: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push(url);
    const body = files.get(url);
    if (!body) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length }).end(body);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}

/** Copy the buildpack files; build dist/supply.cjs from the sources when it is absent (fresh clone). */
async function copyBuildpack(dest: string): Promise<void> {
  for (const rel of BUILDPACK_FILES) {
    const from = path.join(REPO, rel);
    const to = path.join(dest, rel);
    await mkdir(path.dirname(to), { recursive: true });
    const exists = await stat(from).then(() => true, () => false);
    if (!exists && rel === 'dist/supply.cjs') {
      await buildSupplyBundle(to);
      continue;
    }
    // a bundle built here from the sources is one file, with nothing to load beside it
    if (!exists && rel === 'dist/supply-lazy.cjs') continue;
    await copyFile(from, to);
    await chmod(to, (await stat(from)).mode & 0o777);
  }
}

/** Replace the manifest's config-server entries with the served releases, and its node entries' uri and sha256 with `node` (comments kept). */
function pointManifestAt(text: string, releases: ConfigServerRelease[], node?: { uri: string; sha256: string }): string {
  const doc = parseDocument(text);
  const deps = doc.get('dependencies', true);
  if (!isSeq(deps)) throw new Error('reference manifest.yml has no dependencies list');
  const template = deps.items.find((d) => isMap(d) && d.get('name') === 'config-server') as YAMLMap | undefined;
  if (!template) throw new Error('reference manifest.yml has no config-server dependency');
  const stacks = template.get('cf_stacks', true);
  deps.items = deps.items.filter((d) => !(isMap(d) && d.get('name') === 'config-server'));
  releases.forEach((r, i) => {
    const entry = doc.createNode({ name: 'config-server', version: r.version, uri: r.uri, sha256: r.sha256 }) as YAMLMap;
    entry.set('cf_stacks', stacks);
    deps.items.splice(i, 0, entry);
  });
  if (node) {
    for (const d of deps.items) {
      if (!isMap(d) || d.get('name') !== 'node') continue;
      d.set('uri', node.uri);
      d.set('sha256', node.sha256);
    }
  }
  return doc.toString();
}

/** Make the offline reference buildpack (see ReferenceBuildpack). */
export async function referenceBuildpack(options: ReferenceBuildpackOptions = {}): Promise<ReferenceBuildpack> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'reference-bp-'));
  const requests: string[] = [];
  const files = new Map<string, Buffer>();
  const versions = options.versions ?? ['0.0.0'];
  for (const v of versions) files.set(`/config-server-v${v}.tgz`, await configServerTgz(path.join(root, 'src'), v));
  const runtime = options.keepNode ? undefined : await nodeRuntimeArchive();
  if (runtime) files.set('/node-runtime.tgz', await readFile(runtime.file));
  const server = await serveFiles(files, requests);
  try {
    const releases = versions.map((version) => {
      const body = files.get(`/config-server-v${version}.tgz`) as Buffer;
      return { version, uri: `${server.base}/config-server-v${version}.tgz`, sha256: createHash('sha256').update(body).digest('hex') };
    });
    const dir = path.join(root, 'buildpack');
    await copyBuildpack(dir);
    const manifest = path.join(dir, 'manifest.yml');
    const text = pointManifestAt(await readFile(manifest, 'utf8'), releases, runtime && { uri: `${server.base}/node-runtime.tgz`, sha256: runtime.sha256 });
    await writeFile(manifest, text);
    // what bin/supply reads to find its runtime (the build writes the repository's own)
    await writeFile(path.join(dir, RUNTIME_TABLE_PATH), runtimeTableFor(text, manifest, 'integration/helpers/reference-buildpack.ts', parseManifest));
    return {
      dir,
      releases,
      requests,
      package: (cached) =>
        packageBuildpack({
          dir,
          stack: 'cflinuxfs4',
          cached,
          cacheDir: path.join(root, 'download-cache'),
          outputDir: path.join(root, 'zips'),
          createFetcher: cliFetcherFactory({}),
        }),
      stopServer: server.close,
      cleanup: async () => {
        await server.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await server.close();
    await rm(root, { recursive: true, force: true });
    throw e;
  }
}
