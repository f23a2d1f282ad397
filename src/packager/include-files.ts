// Resolve `include_files` (CONTRACT §5) into the files of the zip: plain paths, directories
// (walked, symlinks followed) and simple globs (`*`, `?`, `**`), each with its zip mode.

import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { PackagerError } from '../errors.js';

/** A file to put in the zip: its path inside the zip, where to read it, its mode. */
export interface IncludedFile {
  path: string;
  localPath: string;
  mode: number;
}

const GLOB = /[*?[]/;

/** 0755 for `bin/*` and anything with an execute bit, 0644 for the rest (CONTRACT §5). */
export function zipModeFor(zipPath: string, fileMode: number): number {
  return zipPath.startsWith('bin/') || (fileMode & 0o111) !== 0 ? 0o755 : 0o644;
}

/** A regular expression for one glob: `**` spans directories, `*` and `?` do not. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more whole directories
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

async function statOrNull(p: string): Promise<Stats | null> {
  try {
    return await fs.stat(p);
  } catch {
    return null;
  }
}

/** Every file under `dir` (symlinks followed, cycles skipped), as paths relative to `root`. */
async function walk(root: string, dir: string, seen: Set<string>, out: IncludedFile[]): Promise<void> {
  const real = await fs.realpath(dir);
  if (seen.has(real)) return;
  seen.add(real);
  const names = (await fs.readdir(dir)).sort();
  for (const name of names) {
    const full = path.join(dir, name);
    const st = await statOrNull(full);
    if (!st) continue; // a dangling symlink inside a directory is not something the zip can hold
    if (st.isDirectory()) await walk(root, full, seen, out);
    else if (st.isFile()) {
      const rel = path.relative(root, full).split(path.sep).join('/');
      out.push({ path: rel, localPath: full, mode: zipModeFor(rel, st.mode) });
    }
  }
}

function failedToOpen(abs: string, reason: string): PackagerError {
  return new PackagerError(`failed to open included_file: ${abs}: ${reason}`, 'INCLUDE_FILE_MISSING');
}

/**
 * The files named by `patterns`, relative to `dir`, sorted and without duplicates. A missing
 * path, or a glob that matches nothing, is an error naming it (libbuildpack's wording).
 */
export async function resolveIncludeFiles(dir: string, patterns: string[]): Promise<IncludedFile[]> {
  const byPath = new Map<string, IncludedFile>();
  for (const raw of patterns) {
    const pattern = raw.replace(/^\.\//, '').replace(/\/+$/, '');
    const abs = path.resolve(dir, pattern);
    if (path.isAbsolute(pattern) || pattern.split('/').includes('..')) {
      throw new PackagerError(`included_file ${raw} is outside the buildpack directory`, 'INCLUDE_FILE_OUTSIDE');
    }
    const found: IncludedFile[] = [];
    if (GLOB.test(pattern)) {
      const segments = pattern.split('/');
      const fixed = segments.slice(0, segments.findIndex((s) => GLOB.test(s)));
      const base = path.join(dir, ...fixed);
      const all: IncludedFile[] = [];
      if ((await statOrNull(base))?.isDirectory()) await walk(dir, base, new Set(), all);
      const re = globToRegExp(pattern);
      found.push(...all.filter((f) => re.test(f.path)));
      if (found.length === 0) throw failedToOpen(abs, 'no file matches this pattern');
    } else {
      const st = await statOrNull(abs);
      if (!st) throw failedToOpen(abs, 'no such file or directory');
      if (st.isDirectory()) await walk(dir, abs, new Set(), found);
      else found.push({ path: pattern, localPath: abs, mode: zipModeFor(pattern, st.mode) });
    }
    for (const f of found) byPath.set(f.path, f);
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
