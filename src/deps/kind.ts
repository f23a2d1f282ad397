// How a dependency's file is unpacked, decided by its URI's suffix (CONTRACT §4 "Extraction").

/** tgz: `.tgz`/`.tar.gz`; txz: `.tar.xz`/`.txz`; zip; sh: copied as an executable script; file: any other single file. */
export type ArchiveKind = 'tgz' | 'txz' | 'zip' | 'sh' | 'file';

/** The last path segment of a URI or path, without query or fragment (`download` when empty). */
export function uriBasename(uri: string): string {
  let p = uri;
  try {
    p = new URL(uri).pathname;
  } catch {
    p = uri.replace(/[?#].*$/, '');
  }
  const base = p.split('/').pop() ?? '';
  return base === '' || base === '.' || base === '..' ? 'download' : base;
}

/** The archive kind of a URI or file name, by suffix (case-insensitive). */
export function archiveKind(uri: string): ArchiveKind {
  const base = uriBasename(uri).toLowerCase();
  if (base.endsWith('.tgz') || base.endsWith('.tar.gz')) return 'tgz';
  if (base.endsWith('.tar.xz') || base.endsWith('.txz')) return 'txz';
  if (base.endsWith('.zip')) return 'zip';
  if (base.endsWith('.sh')) return 'sh';
  return 'file';
}
