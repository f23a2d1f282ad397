// Buildpacks that stand in for a language buildpack (the fixture final buildpack) install a node
// runtime into the droplet, as nodejs_buildpack does from its cached zip. A local buildpack
// directory asks for one with a `vendor-node` file at its root: the local platform stages a copy
// of it holding `vendor/node/bin/node`, this machine's node (the one running the platform). The
// stack itself ships no node (CONTRACT §2), so this is the only way an app gets one here, as on a
// foundation it only gets one from a buildpack. See docs/platform.md.

import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, cp, link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/** The file that asks for the vendored node. */
export const VENDOR_NODE_MARKER = 'vendor-node';
/** Where the copy holds it. */
export const VENDORED_NODE = path.join('vendor', 'node', 'bin', 'node');

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** A fingerprint of the buildpack's files (names, sizes, mtimes) and of the node to vendor. */
async function fingerprint(dir: string, node: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (rel === '' && e.name === 'vendor') continue;
      const st = await stat(path.join(d, e.name));
      h.update(`${rel}${e.name}\0${st.size}\0${st.mtimeMs}\0${st.mode}\n`);
      if (e.isDirectory()) await walk(path.join(d, e.name), `${rel}${e.name}/`);
    }
  };
  await walk(dir, '');
  const n = await stat(node);
  h.update(`node\0${node}\0${n.size}\0${n.mtimeMs}\0${n.ino}`);
  return h.digest('hex').slice(0, 16);
}

/**
 * `dir` itself when it has no `vendor-node` file; else `<scratchRoot>/<name>-<fingerprint>`, a copy
 * of it with `node` (default: this process's) at `vendor/node/bin/node` — a hard link when on the
 * same file system, else a copy. Made once per fingerprint, atomically; later calls reuse it.
 */
export async function withVendoredNode(dir: string, scratchRoot: string, node = process.execPath): Promise<string> {
  if (!(await isFile(path.join(dir, VENDOR_NODE_MARKER)))) return dir;
  const target = path.join(scratchRoot, `${path.basename(dir)}-${await fingerprint(dir, node)}`);
  if (await isFile(path.join(target, VENDORED_NODE))) return target;
  await mkdir(scratchRoot, { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  try {
    await cp(dir, tmp, { recursive: true, verbatimSymlinks: true, filter: (src) => path.relative(dir, src) !== 'vendor' });
    await mkdir(path.dirname(path.join(tmp, VENDORED_NODE)), { recursive: true });
    const dest = path.join(tmp, VENDORED_NODE);
    try {
      // a link keeps node's own mode: never chmod it (that would change this machine's node)
      await link(node, dest);
    } catch {
      await copyFile(node, dest, constants.COPYFILE_FICLONE);
      await chmod(dest, 0o755);
    }
    await rename(tmp, target).catch(async (e: NodeJS.ErrnoException) => {
      // another staging made it first
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return target;
}
