// Public API of the manifest library: parse and validate manifest.yml, resolve versions,
// answer libbuildpack's manifest questions, produce its warnings, apply per-app overrides.

export type { DefaultVersion, Dependency, DeprecationDate, LivenessSpec, Manifest, ProbePort, ProbeSpec, ProxySpec, ReadinessSpec, SidecarEnvValue, SidecarSpec, VolumeSpec } from './types.js';
export { loadManifest, parseManifest, type ParseOptions } from './parse.js';
export { applyOverrideFiles, applyOverrideText } from './override-file.js';
export { MAX_ALIAS_COUNT, MAX_MANIFEST_BYTES, readYaml } from './yaml.js';
export {
  findMatchingVersion,
  findMatchingVersions,
  isSemver,
  isValidConstraint,
  parseLenientSemver,
  parseStrictSemver,
} from './versions.js';
export {
  allDependencyVersions,
  checkStackSupport,
  defaultVersion,
  dependenciesForStack,
  entrySupportsStack,
  getEntry,
  isCached,
  onlyVersion,
  readBuildpackVersion,
  resolveEntry,
  type DependencyRef,
} from './query.js';
export {
  endOfLifeWarnings,
  installWarnings,
  newerVersionWarning,
  preReleaseWarning,
  stackDeprecationWarning,
  stackWarnings,
  type VersionLine,
} from './warnings.js';
export { MAX_SIDECAR_COMMAND, MAX_SIDECAR_NAME, parseSidecars, PROBE_DEFAULTS, RESERVED_PROCESS_TYPES } from './sidecars.js';
export { applyOverrides, OVERRIDE_SUFFIXES, overrideVariableName, overrideVariables, type OverrideResult, type OverrideSuffix } from './overrides.js';
