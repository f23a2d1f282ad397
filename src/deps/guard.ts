// Containment rules shared by the tar and zip extractors: every entry, hardlink and symlink must
// stay inside the target directory, and nothing may be written through a symlink of the archive.
// Names are handled as latin1 strings (one char per byte), so the raw bytes of a name survive
// unchanged and two different names never collapse into one (see tar-sanitize.ts, extract-zip.ts).

import { UnsafeArchiveError } from '../errors.js';

/** Permission bits we keep: setuid, setgid and sticky are always dropped. */
const PERMS = 0o777;
/** Most links followed while resolving one path (Linux's MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;

/** File mode as installed: the archive's permission bits, owner read/write always kept. */
export function fileMode(mode: number | undefined): number {
  return ((mode ?? 0o644) & PERMS) | 0o600;
}

/** Directory mode as installed: the archive's permission bits, owner rwx always kept (so cleanup works). */
export function dirMode(mode: number | undefined): number {
  return ((mode ?? 0o755) & PERMS) | 0o700;
}

/** A latin1 (byte-per-char) name as people read it: its bytes decoded as UTF-8. */
export function shown(name: string): string {
  return Buffer.from(name, 'latin1').toString('utf8');
}

/**
 * Checks entry names in archive order. Rules (documented in extract.ts):
 * - names are relative; a `..` component or an absolute name is rejected, not repaired;
 * - `stripComponents` leading components are removed; an entry left with no name is skipped;
 * - a hardlink's target follows the same rules (and is stripped, as GNU tar does);
 * - a symlink's target must be relative and *resolve* inside the target: resolution follows the
 *   archive's other symlinks as the kernel would (`a/l -> ..` makes `w -> a/l/..` point above
 *   the target). Each link is checked when it arrives, and {@link finish} checks every link again
 *   against the whole archive, so a later link cannot turn an earlier one outward;
 * - no entry (nor a hardlink's target) may have a symlink of the archive as itself or an ancestor,
 *   so nothing is ever written through a link.
 * Every name and target is a latin1 string of the archive's raw bytes.
 */
export class EntryGuard {
  /** Link path (physical: no link among its ancestors) → target text. */
  private readonly symlinks = new Map<string, string>();

  constructor(private readonly stripComponents = 0) {}

  /** The stripped, normalised relative path of an entry, or null when stripping leaves nothing. */
  entry(raw: string): string | null {
    const rel = this.normalise(raw, raw);
    if (rel === null) return null;
    this.checkNotThroughSymlink(raw, rel);
    return rel;
  }

  /** The stripped, normalised target of a hardlink named `entry`. */
  hardlinkTarget(entry: string, target: string): string | null {
    const rel = this.normalise(entry, target);
    if (rel === null) return null;
    this.checkNotThroughSymlink(entry, rel);
    return rel;
  }

  /** Validate a symlink at (already checked) `rel` pointing at `target`, and remember it. */
  symlink(entry: string, rel: string, target: string): void {
    if (target === '' || target.includes('\0')) throw new UnsafeArchiveError(shown(entry), 'symlink with an empty or invalid target');
    if (target.startsWith('/') || /^[A-Za-z]:[\\/]/.test(target)) {
      throw new UnsafeArchiveError(shown(entry), `symlink to an absolute path ${JSON.stringify(shown(target))}`);
    }
    this.symlinks.set(rel, target);
    this.checkLink(entry, rel, target);
  }

  /**
   * After the last entry: every symlink, resolved against all the archive's links (whatever
   * their order), still points inside the target. Throws UnsafeArchiveError otherwise.
   */
  finish(): void {
    for (const [rel, target] of this.symlinks) this.checkLink(rel, rel, target);
  }

  private checkLink(entry: string, rel: string, target: string): void {
    const parts = rel.split('/');
    parts.pop();
    const resolved = this.resolve(parts, target, 0, entry);
    if (resolved === null) {
      throw new UnsafeArchiveError(shown(entry), `symlink to ${JSON.stringify(shown(target))} resolves outside the target directory`);
    }
  }

  /**
   * Resolve `target` from the directory `dir` (components, physical), following known links.
   * Returns the physical components of the result, or null when it leaves the target directory.
   */
  private resolve(dir: string[], target: string, hops: number, entry: string): string[] | null {
    let at = dir.slice();
    for (const part of target.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (at.length === 0) return null;
        at.pop();
        continue;
      }
      at.push(part);
      const link = this.symlinks.get(at.join('/'));
      if (link === undefined) continue;
      if (hops >= MAX_LINK_HOPS) throw new UnsafeArchiveError(shown(entry), `more than ${MAX_LINK_HOPS} symlinks to follow (a loop?)`);
      at.pop();
      const next = this.resolve(at, link, hops + 1, entry);
      if (next === null) return null;
      at = next;
    }
    return at;
  }

  private normalise(entry: string, raw: string): string | null {
    if (raw.includes('\0')) throw new UnsafeArchiveError(shown(entry), 'name contains a NUL byte');
    if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw)) throw new UnsafeArchiveError(shown(entry), `absolute path ${JSON.stringify(shown(raw))}`);
    const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.some((p) => p === '..')) throw new UnsafeArchiveError(shown(entry), `path ${JSON.stringify(shown(raw))} contains '..'`);
    const kept = parts.slice(this.stripComponents);
    return kept.length === 0 ? null : kept.join('/');
  }

  private checkNotThroughSymlink(entry: string, rel: string): void {
    if (this.symlinks.size === 0) return;
    let prefix = '';
    for (const part of rel.split('/')) {
      prefix = prefix ? `${prefix}/${part}` : part;
      if (this.symlinks.has(prefix)) {
        throw new UnsafeArchiveError(shown(entry), `${JSON.stringify(shown(rel))} would be written through the archive's symlink ${JSON.stringify(shown(prefix))}`);
      }
    }
  }
}
