// The staging runtime of a cached zip, slimmed to what staging needs: the bare `bin/node` of the
// manifest's node archive (not npm, headers or docs), stripped of its symbol tables and debug
// info (a tenth of nodejs.org's binary, which ships them) when binutils' `strip` can do that and
// the stripped copy provably runs here. The platform unpacks the zip once, and bin/supply then
// only checks the binary's size and ELF header (recorded in dist/runtime.tsv) before running it in
// place — nothing to unpack and nothing kept in the app cache. See docs/staging-runtime.md.

import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { PackagerError } from '../errors.js';
import { sha256File } from './download-cache.js';

/** `bin/node` at the archive's root (CF's node dependency) or under one folder (nodejs.org's). */
const NODE_BINARY = /^(?:\.\/)?(?:[^/]+\/)?bin\/node$/;

export interface RuntimeBinary {
  /** The extracted binary (inside `workDir`). */
  path: string;
  sha256: string;
  bytes: number;
  /** The binary's size in the archive, before {@link stripRuntimeBinary}. */
  archivedBytes: number;
  /** Why it is carried as archived, when it is not stripped. */
  unstripped?: string;
}

/**
 * Extract the runtime's `bin/node` from `archive` (a verified `.tgz`) into `workDir` and hash it.
 * Throws PackagerError when the archive cannot be read as a tarball or holds no such file.
 */
export async function extractRuntimeBinary(archive: string, workDir: string, label: string): Promise<RuntimeBinary> {
  const found: string[] = [];
  try {
    await tar.x({
      file: archive,
      cwd: workDir,
      strict: true,
      filter: (p, entry) => {
        const hit = NODE_BINARY.test(p) && (entry as { type?: string }).type === 'File';
        if (hit) found.push(p.replace(/^\.\//, ''));
        return hit;
      },
    });
  } catch (err) {
    throw new PackagerError(`${label}: the staging runtime must be a .tgz holding bin/node; it cannot be read as one (${(err as Error).message})`, 'RUNTIME_UNREADABLE', { cause: err });
  }
  if (found.length === 0) throw new PackagerError(`${label}: the staging runtime archive holds no bin/node (nor <folder>/bin/node)`, 'RUNTIME_NO_BINARY');
  // the shallowest one: bin/node before <folder>/bin/node
  const chosen = found.sort((a, b) => a.split('/').length - b.split('/').length)[0];
  const file = path.join(workDir, ...chosen.split('/'));
  const st = await fs.lstat(file);
  return { path: file, sha256: await sha256File(file), bytes: st.size, archivedBytes: st.size };
}

/** ELF e_machine of the CPUs node runs on, by `process.arch`. */
const ELF_MACHINE: Record<string, number> = { x64: 62, arm64: 183, ia32: 3, arm: 40, ppc64: 21, s390x: 22, riscv64: 243, loong64: 258 };

type Run = (file: string, args: string[]) => Promise<{ code: number | string; stdout: string; stderr: string }>;

const run: Run = (file, args) =>
  new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000, maxBuffer: 1024 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' } }, (err, stdout, stderr) => {
      const code = err ? ((err as NodeJS.ErrnoException).code ?? (err as { signal?: string }).signal ?? 1) : 0;
      resolve({ code: typeof code === 'number' || typeof code === 'string' ? code : 1, stdout, stderr });
    });
  });

/** Why `header` is not an ELF file of this machine's CPU and OS, or undefined when it is one. */
export function notRunnableHere(header: Buffer): string | undefined {
  if (header.length < 20 || header.readUInt32BE(0) !== 0x7f454c46) return 'it is not an ELF binary';
  const machine = header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
  if (process.platform !== 'linux' || machine !== ELF_MACHINE[process.arch]) return `it is built for another CPU or OS (ELF machine ${machine}) than this ${process.platform}/${process.arch}, where a stripped copy could not be checked`;
  return undefined;
}

/**
 * Strip the runtime binary's symbol tables and debug info (`strip --strip-all`, binutils): staging
 * needs neither, and nodejs.org's binary carries about 12 MB of them. The stripped copy is used
 * only when it runs here and answers `--version` as the original does; otherwise the binary is
 * carried as archived and `unstripped` says why (no `strip`, another CPU, already stripped, …).
 */
export async function stripRuntimeBinary(bin: RuntimeBinary, exec: Run = run): Promise<RuntimeBinary> {
  const keep = (unstripped: string): RuntimeBinary => ({ ...bin, unstripped });
  const fh = await fs.open(bin.path, 'r');
  const header = Buffer.alloc(20);
  try {
    await fh.read(header, 0, 20, 0);
  } finally {
    await fh.close();
  }
  const foreign = notRunnableHere(header);
  if (foreign) return keep(foreign);
  const out = `${bin.path}.stripped`;
  const stripped = await exec('strip', ['--strip-all', '-o', out, bin.path]);
  if (stripped.code === 'ENOENT') return keep('there is no strip (binutils) on PATH');
  if (stripped.code !== 0) return keep(`strip failed: ${(stripped.stderr.trim().split('\n')[0] || `exit status ${stripped.code}`).slice(0, 200)}`);
  const bytes = (await fs.stat(out)).size;
  if (bytes >= bin.bytes) {
    await fs.rm(out, { force: true });
    return keep('it has no symbols or debug info to strip');
  }
  const [before, after] = await Promise.all([exec(bin.path, ['--version']), exec(out, ['--version'])]);
  if (before.code !== 0 || after.code !== 0 || before.stdout !== after.stdout) {
    await fs.rm(out, { force: true });
    return keep(`the stripped copy does not answer --version as the original does (${JSON.stringify(after.stdout.trim() || after.code)} against ${JSON.stringify(before.stdout.trim() || before.code)})`);
  }
  await fs.rename(out, bin.path);
  return { ...bin, sha256: await sha256File(bin.path), bytes };
}

/** Where the binary goes inside the zip: beside where the archive would have been. */
export function runtimeBinaryZipPath(archiveZipPath: string): string {
  return `${path.posix.dirname(archiveZipPath)}/bin/node`;
}
