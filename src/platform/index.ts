// The platform API in one import: the Platform interface and its types, the local and cf
// implementations, and the app-manifest reader.

export * from './types.js';
export { parseAppManifest, parseMemory, readAppManifest, resolveAppSpec, type AppManifest } from './app-manifest.js';
export { LocalPlatform, type LocalPlatformOptions } from './local/index.js';
export { CfPlatform, cfConfigFromEnv, dnsSafeName, spawnRunner, type CfConfig, type CfPlatformOptions, type CommandRunner, type CommandResult } from './cf/index.js';
