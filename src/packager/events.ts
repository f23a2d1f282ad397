// Progress events of packaging, for whoever renders them (a progress bar, plain lines, JSON).

/** A dependency named in an event; `uri` is already redacted. */
export interface DependencyRef {
  name: string;
  version: string;
  uri: string;
}

/** Everything the packager reports while it works. Library code emits; the CLI renders. */
export type PackageEvent =
  | { type: 'pre-package'; command: string }
  | { type: 'pre-package-done'; command: string; output: string }
  | ({ type: 'download-start' } & DependencyRef)
  | ({ type: 'download-progress'; received: number; total: number | undefined } & DependencyRef)
  | ({ type: 'download-retry'; attempt: number; reason: string } & DependencyRef)
  | ({ type: 'cache-entry-invalid'; expected: string; actual: string } & DependencyRef)
  | ({ type: 'dependency-ready'; source: 'cache' | 'download'; bytes: number } & DependencyRef)
  | { type: 'runtime-binary'; file: string; bytes: number; archivedBytes: number; unstripped?: string }
  | { type: 'code-cache'; file: string; recorded: boolean; reason?: string }
  | { type: 'warning'; message: string };
