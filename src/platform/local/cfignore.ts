// `.cfignore` matching (gitignore-style patterns) plus the cf CLI's default exclusions, and the
// copy of an app directory that honours them.

import { cp, readFile, readdir, lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';

/** What `cf push` never uploads, whatever `.cfignore` says. */
export const DEFAULT_IGNORES = ['.cfignore', '/manifest.yml', '.gitignore', '.git', '.hg', '.svn', '_darcs', '.DS_Store'];

interface Rule {
  re: RegExp;
  negate: boolean;
  dirOnly: boolean;
}

function globToRegExp(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more directories; a trailing `**` matches everything below.
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}

function compileRule(line: string): Rule | undefined {
  let p = line.trim();
  if (p === '' || p.startsWith('#')) return undefined;
  const negate = p.startsWith('!');
  if (negate) p = p.slice(1);
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.replace(/\/+$/, '');
  // A slash anywhere but the end anchors the pattern at the app root; otherwise it matches at any depth.
  const anchored = p.includes('/');
  p = p.replace(/^\/+/, '');
  const body = globToRegExp(p);
  return { re: new RegExp(anchored ? `^${body}$` : `(?:^|/)${body}$`), negate, dirOnly };
}

/** A predicate over app-relative paths (`/`-separated): true when the path is excluded. */
export function compileIgnore(lines: string[]): (relPath: string, isDir: boolean) => boolean {
  const rules = lines.map(compileRule).filter((r): r is Rule => r !== undefined);
  return (relPath, isDir) => {
    let ignored = false;
    for (const r of rules) {
      if (r.dirOnly && !isDir) continue;
      if (r.re.test(relPath)) ignored = !r.negate;
    }
    return ignored;
  };
}

/** Copy `src` to `dest` as `cf push` would upload it (`.cfignore` and the defaults honoured). */
export async function copyApp(src: string, dest: string): Promise<void> {
  let userLines: string[] = [];
  try {
    userLines = (await readFile(path.join(src, '.cfignore'), 'utf8')).split(/\r?\n/);
  } catch {
    // No .cfignore: only the defaults apply.
  }
  const ignored = compileIgnore([...DEFAULT_IGNORES, ...userLines]);
  await mkdir(dest, { recursive: true });
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(path.join(src, rel))) {
      const childRel = rel ? `${rel}/${name}` : name;
      const st = await lstat(path.join(src, childRel));
      if (ignored(childRel, st.isDirectory())) continue;
      if (st.isDirectory()) {
        await mkdir(path.join(dest, childRel), { recursive: true, mode: st.mode & 0o777 });
        await walk(childRel);
      } else {
        await cp(path.join(src, childRel), path.join(dest, childRel), { preserveTimestamps: true, verbatimSymlinks: true });
      }
    }
  };
  await walk('');
}
