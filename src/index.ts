// The toolkit as a library, for buildpacks that need more than the declarative `sidecars:`
// section: everything `bin/supply`, the packager and the platforms are built from.

export * from './errors.js';
export * from './manifest/index.js';
export { HttpFetcher } from './deps/fetch.js';
export { Installer, type InstallerOptions } from './deps/installer.js';
export { extract, archiveKind, uriBasename, DEFAULT_MAX_UNPACKED_BYTES, maxUnpackedBytesFrom, type ExtractOptions } from './deps/extract.js';
export type { BodyFetcher, DependencyInstaller, FetchOptions, Fetcher, InstallResult, InstallSource } from './deps/types.js';
export { DepsDirWriter, RESERVED_DEPS_NAMES, type BuildpackConfig } from './depsdir/writer.js';
export { writeFileAtomic } from './depsdir/atomic.js';
export { readLaunchYml, renderLaunchYml, type LaunchProcess } from './launch/launch-yml.js';
export { MemorySink, StagingLogger, stripAnsi, type Logger, type TextSink } from './log/logger.js';
export { redactText, redactUri } from './log/redact.js';
export { renderSidecar, type RenderedSidecar, type DepsFile } from './sidecar/render.js';
export { shQuote } from './sidecar/shell.js';
export { supply, type SupplyContext, type SupplyDeps, type SupplyResult } from './supply/supply.js';
export { packageBuildpack, type PackageOptions, type PackageResult } from './packager/package.js';
export * from './platform/index.js';
