// Typed errors of the toolkit. Library code throws these; one place per executable maps them to
// an exit code and prints `message` once. Anything that is not a BuildpackError is a bug.

/** Base class: a stable `code` for programs, a message for people (URIs already redacted). */
export class BuildpackError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A manifest that cannot be read or does not validate. Names the file and the key path. */
export class ManifestError extends BuildpackError {
  readonly file: string;
  readonly key: string | undefined;
  constructor(file: string, key: string | undefined, reason: string, options?: { cause?: unknown }) {
    super('MANIFEST_INVALID', key ? `${file}: ${key}: ${reason}` : `${file}: ${reason}`, options);
    this.file = file;
    this.key = key;
  }
}

/** No version satisfies a constraint: libbuildpack's `no match found for <c> in [<versions>]`. */
export class DependencyNotFoundError extends BuildpackError {
  readonly constraint: string;
  readonly available: string[];
  constructor(constraint: string, available: string[], message?: string) {
    super('DEPENDENCY_NOT_FOUND', message ?? `no match found for ${constraint} in [${available.join(' ')}]`);
    this.constraint = constraint;
    this.available = available;
  }
}

/** A lookup in the manifest failed in another libbuildpack-worded way (no default, stack...). */
export class ResolveError extends BuildpackError {
  constructor(message: string, code = 'RESOLVE_FAILED') {
    super(code, message);
  }
}

/** The file's digest differs from the manifest's: CONTRACT §4's message, byte for byte. */
export class ChecksumMismatchError extends BuildpackError {
  readonly expected: string;
  readonly actual: string;
  constructor(expected: string, actual: string, readonly subject?: string) {
    super('CHECKSUM_MISMATCH', `dependency sha256 mismatch: expected sha256 ${expected}, actual sha256 ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** A download that failed for good (after retries, or not retryable). `uri` is redacted. */
export class DownloadError extends BuildpackError {
  constructor(readonly uri: string, reason: string, readonly status?: number, options?: { cause?: unknown }) {
    super('DOWNLOAD_FAILED', `could not download ${uri}: ${reason}`, options);
  }
}

/** An archive entry, symlink or hardlink that would land outside the target directory. */
export class UnsafeArchiveError extends BuildpackError {
  constructor(readonly entry: string, reason: string) {
    super('UNSAFE_ARCHIVE', `unsafe archive entry ${JSON.stringify(entry)}: ${reason}`);
  }
}

/** An archive that cannot be read (truncated, not an archive of its suffix's kind). */
export class CorruptArchiveError extends BuildpackError {
  constructor(readonly archive: string, reason: string, options?: { cause?: unknown }) {
    super('CORRUPT_ARCHIVE', `corrupt archive ${archive}: ${reason}`, options);
  }
}

/** The environment variable (MiB) that raises {@link ArchiveTooLargeError}'s limit; read by `bin/supply`. */
export const MAX_UNPACKED_ENV = 'SIDECAR_BUILDPACK_MAX_UNPACKED_MB';

/** An archive that would expand past the limit for one dependency (a bomb, or a limit set too low). */
export class ArchiveTooLargeError extends BuildpackError {
  constructor(readonly archive: string, readonly limit: number, detail = '') {
    super(
      'ARCHIVE_TOO_LARGE',
      `archive ${archive} expands to more than ${Math.floor(limit / 1048576)} MiB (${limit} bytes), the limit for one dependency${detail ? ` (${detail})` : ''}; set ${MAX_UNPACKED_ENV} to a larger number of MiB if it is genuine`,
    );
  }
}

/**
 * The file system refused what staging needs (disk full, read-only, a file where a directory
 * should be...): says what was being done, where, and the system's reason. Code `DISK_FULL` for
 * ENOSPC/EDQUOT, `FILE_SYSTEM` otherwise.
 */
export class FileSystemError extends BuildpackError {
  constructor(readonly path: string, readonly errno: string | undefined, message: string, options?: { cause?: unknown }) {
    super(errno === 'ENOSPC' || errno === 'EDQUOT' ? 'DISK_FULL' : 'FILE_SYSTEM', message, options);
  }
}

/** An app developer's override variable (`NAME_VERSION`, `NAME_MEMORY`, ...) that is unusable. */
export class OverrideError extends BuildpackError {
  constructor(readonly variable: string, reason: string) {
    super('OVERRIDE_INVALID', `${variable}: ${reason}`);
  }
}

/** A packaging failure (CONTRACT §5 texts). */
export class PackagerError extends BuildpackError {
  constructor(message: string, code = 'PACKAGE_FAILED', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Bad command-line usage. */
export class UsageError extends BuildpackError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export function isBuildpackError(e: unknown): e is BuildpackError {
  return e instanceof BuildpackError;
}

/** Sidecars that leave their process no memory (CONTRACT §3), refused at staging with the numbers. */
export class SidecarMemoryError extends BuildpackError {
  constructor(message: string) {
    super('SIDECAR_MEMORY', message);
  }
}

/** A command outcome that picks its own exit code (a task's status, a signal's 128+N). */
export class ExitStatusError extends BuildpackError {
  constructor(
    code: string,
    message: string,
    readonly exitCode: number,
  ) {
    super(code, message);
  }
}

/** A command stopped by a signal after cleaning up (Ctrl-C of push): the shell's exit 128+N. */
export class InterruptedError extends ExitStatusError {
  constructor(
    readonly signal: string,
    message: string,
  ) {
    super('INTERRUPTED', message, signal === 'SIGTERM' ? 143 : signal === 'SIGHUP' ? 129 : 130);
  }
}
