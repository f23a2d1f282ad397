// Containment rules shared by the tar and zip extractors: every entry, hardlink and symlink must
// stay inside the target directory, and nothing may be written through a symlink of the archive.

import path from 'node:path';
import { UnsafeArchiveError } from '../errors.js';

/** Permission bits we keep: setuid, setgid and sticky are always dropped. */
const PERMS = 0o777;

/** File mode as installed: the archive's permission bits, owner read/write always kept. */
export function fileMode(mode: number | undefined): number {
  return ((mode ?? 0o644) & PERMS) | 0o600;
}

/** Directory mode as installed: the archive's permission bits, owner rwx always kept (so cleanup works). */
export function dirMode(mode: number | undefined): number {
  return ((mode ?? 0o755) & PERMS) | 0o700;
}

/**
 * Checks entry names in archive order. Rules (documented in extract.ts):
 * - names are relative; a `..` component or an absolute name is rejected, not repaired;
 * - `stripComponents` leading components are removed; an entry left with no name is skipped;
 * - a hardlink's target follows the same rules (and is stripped, as GNU tar does);
 * - a symlink's target must be relative and resolve, from the link's directory, inside the target;
 * - no entry (nor a hardlink's target) may have a symlink of the archive as itself or an ancestor,
 *   so nothing is ever written through a link.
 */
export class EntryGuard {
  private readonly symlinks = new Set<string>();

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
    if (target === '' || target.includes('\0')) throw new UnsafeArchiveError(entry, 'symlink with an empty or invalid target');
    if (target.startsWith('/') || /^[A-Za-z]:[\\/]/.test(target)) {
      throw new UnsafeArchiveError(entry, `symlink to an absolute path ${JSON.stringify(target)}`);
    }
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target));
    if (resolved === '..' || resolved.startsWith('../')) {
      throw new UnsafeArchiveError(entry, `symlink to ${JSON.stringify(target)} points outside the target directory`);
    }
    this.symlinks.add(rel);
  }

  private normalise(entry: string, raw: string): string | null {
    if (raw.includes('\0')) throw new UnsafeArchiveError(entry, 'name contains a NUL byte');
    if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw)) throw new UnsafeArchiveError(entry, `absolute path ${JSON.stringify(raw)}`);
    const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.some((p) => p === '..')) throw new UnsafeArchiveError(entry, `path ${JSON.stringify(raw)} contains '..'`);
    const kept = parts.slice(this.stripComponents);
    return kept.length === 0 ? null : kept.join('/');
  }

  private checkNotThroughSymlink(entry: string, rel: string): void {
    if (this.symlinks.size === 0) return;
    let prefix = '';
    for (const part of rel.split('/')) {
      prefix = prefix ? `${prefix}/${part}` : part;
      if (this.symlinks.has(prefix)) {
        throw new UnsafeArchiveError(entry, `${JSON.stringify(rel)} would be written through the archive's symlink ${JSON.stringify(prefix)}`);
      }
    }
  }
}
