// A staging runtime for buildpacks built on this toolkit, for tests, the demo and the bench: the
// stack ships no node, and the local platform stages on the stack's tools (CONTRACT §2), so a
// buildpack's bin/supply needs the manifest's `node` dependency — here a `.tgz` holding this
// machine's node as `bin/node` (CF's node dependency layout), served from 127.0.0.1 by the caller.
// Made once per node binary and kept in the temp dir, so a test run packs it at most once.

import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { isSeq, parseDocument } from 'yaml';
import { ANY_STACK, RUNTIME_TABLE_PATH, renderRuntimeTable } from '../../src/packager/runtime-table.js';
import { COMPILED_MANIFEST_PATH, compiledManifestFor } from '../../src/manifest/compiled.js';
import { parseManifest } from '../../src/manifest/parse.js';
import { ManifestError } from '../../src/errors.js';
import { BUNDLE_PATH, LOADER_PATH, codeCacheZipPath, recordCodeCache } from '../../src/packager/code-cache.js';

export interface NodeRuntimeArchive {
  file: string;
  sha256: string;
  bytes: number;
  /** The node version it holds (without the `v`). */
  version: string;
  /** sha256 of the `bin/node` inside. */
  binarySha256: string;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

let made: Promise<NodeRuntimeArchive> | undefined;

/** The archive of this process's node (`bin/node` at its root, gzip level 1: a test input, made fast). */
export function nodeRuntimeArchive(): Promise<NodeRuntimeArchive> {
  made ??= (async () => {
    const node = await fs.realpath(process.execPath);
    const st = await fs.stat(node);
    const key = createHash('sha256').update(`${node}\0${st.size}\0${st.mtimeMs}\0${st.ino}\0${process.version}`).digest('hex').slice(0, 16);
    const file = path.join(os.tmpdir(), `sidecar-buildpack-test-node-${key}.tgz`);
    const done = async (): Promise<NodeRuntimeArchive> => {
      const s = await fs.stat(file);
      return { file, sha256: await sha256File(file), bytes: s.size, version: process.version.slice(1), binarySha256: await sha256File(node) };
    };
    if (await fs.stat(file).then((s) => s.isFile(), () => false)) return done();
    const src = await fs.mkdtemp(path.join(os.tmpdir(), 'node-runtime-src-'));
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      await fs.mkdir(path.join(src, 'bin'));
      // a copy: the mode set below must not be this machine's node's
      await fs.copyFile(node, path.join(src, 'bin', 'node'));
      await fs.chmod(path.join(src, 'bin', 'node'), 0o755);
      await tar.c({ gzip: { level: 1 }, file: tmp, cwd: src, portable: true, mtime: new Date(0) }, ['bin']);
      await fs.rename(tmp, file);
    } finally {
      await fs.rm(src, { recursive: true, force: true });
      await fs.rm(tmp, { force: true });
    }
    return done();
  })();
  return made;
}

/** `dependencies/<md5(uri)>/bin/node`: where a cached zip keeps its runtime (the packager's layout). */
function inPlacePath(uri: string): string {
  return `dependencies/${createHash('md5').update(uri).digest('hex')}/bin/node`;
}

/**
 * Give the buildpack in `dir` (its manifest.yml, the toolkit's bin/ shims) a staging runtime as a
 * cached zip has one: a `node` dependency in manifest.yml (this machine's node, archived), the bare
 * binary at `dependencies/<md5(uri)>/bin/node` (a hard link, else a copy) and dist/runtime.tsv
 * naming it. bin/supply then runs on a stack without node, as it must on a foundation. `uri` is
 * where the archive would be downloaded from (never, while the binary is in place).
 */
export async function addStagingRuntime(dir: string, uri = 'http://127.0.0.1:9/node-runtime.tgz'): Promise<void> {
  const runtime = await nodeRuntimeArchive();
  const file = path.join(dir, 'manifest.yml');
  const doc = parseDocument(await fs.readFile(file, 'utf8'));
  const deps = doc.get('dependencies', true);
  const entry = doc.createNode({ name: 'node', version: runtime.version, uri, sha256: runtime.sha256, cf_stacks: ['cflinuxfs4'] });
  if (isSeq(deps)) deps.items.push(entry);
  else doc.set('dependencies', doc.createNode([entry]));
  const text = doc.toString();
  await fs.writeFile(file, text);
  const rel = inPlacePath(uri);
  const bin = path.join(dir, ...rel.split('/'));
  await fs.mkdir(path.dirname(bin), { recursive: true });
  const node = await fs.realpath(process.execPath);
  // a hard link keeps node's own mode (nothing here may chmod it); else a copy made executable
  await fs.link(node, bin).catch(async () => {
    await fs.copyFile(node, bin);
    await fs.chmod(bin, 0o755);
  });
  const bytes = (await fs.stat(bin)).size;
  // the rows the build would write for this one node entry (written here: the manifest may be one a
  // test wants refused at staging, which the parser would refuse now)
  const row = { version: runtime.version, uri, sha256: runtime.sha256, file: rel, fileSha256: runtime.binarySha256, fileBytes: bytes };
  const rows = [{ stack: 'cflinuxfs4', ...row }, { stack: ANY_STACK, ...row }];
  await fs.mkdir(path.join(dir, 'dist'), { recursive: true });
  await fs.writeFile(path.join(dir, RUNTIME_TABLE_PATH), renderRuntimeTable(rows, text, 'test/helpers/node-runtime.ts'));
  // and the compiled manifest of the edited manifest.yml, as the packager writes it in every zip
  // (the old one no longer matches, so staging would parse the YAML, which no zip makes it do); a
  // manifest the parser refuses keeps the stale file, and staging parses and refuses it
  const compiledFile = path.join(dir, COMPILED_MANIFEST_PATH);
  if (await fs.stat(compiledFile).then(() => true, () => false)) {
    try {
      await fs.writeFile(compiledFile, compiledManifestFor(text, file, 'test/helpers/node-runtime.ts', parseManifest));
    } catch (e) {
      if (!(e instanceof ManifestError)) throw e;
    }
  }
  // and, as the packager records it, the code cache of the bundle for this binary (when the
  // buildpack carries the loader; a manifest staging must refuse records none)
  const exists = (p: string) => fs.stat(path.join(dir, p)).then(() => true, () => false);
  if ((await exists(LOADER_PATH)) && (await exists(BUNDLE_PATH))) {
    const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'code-cache-'));
    try {
      const out = path.join(cacheDir, 'cache');
      if ((await recordCodeCache(dir, bin, 'cflinuxfs4', out, { offline: false })).recorded) await fs.copyFile(out, path.join(dir, ...codeCacheZipPath(rel).split('/')));
    } finally {
      await fs.rm(cacheDir, { recursive: true, force: true });
    }
  }
}
