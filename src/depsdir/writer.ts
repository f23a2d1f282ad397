// Writes a supply buildpack's outputs under <deps>/<idx>/ (CONTRACT §1): config.yml, launch.yml,
// env/, profile.d/, bin/ links. Every file is written atomically; nothing outside <deps>/<idx>.

import path from 'node:path';
import { emitYaml, type YamlData } from '../launch/emit-yaml.js';
import { renderLaunchYml, type LaunchProcess } from '../launch/render-launch.js';
import { symlinkAtomic, writeFileAtomic } from './atomic.js';

/** config.yml (CONTRACT §1): `name`, `version`, `config`, optional `output_metadata`. */
export interface BuildpackConfig {
  name: string;
  version: string;
  config?: Record<string, unknown>;
  output_metadata?: Record<string, unknown>;
}

const SAFE_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * Names directly under `<deps>/<idx>/` that belong to the toolkit or to the final buildpack's
 * conventions (CONTRACT §1: `bin` on PATH, `lib` on LD_LIBRARY_PATH, `env`, `profile.d`) — what
 * supply writes, and what a dependency installed at `<deps>/<idx>/<name>` must never be.
 */
export const RESERVED_DEPS_NAMES: readonly string[] = ['bin', 'lib', 'env', 'profile.d', 'sidecars', 'config.yml', 'launch.yml'];

/** Why `name` cannot be a dependency's directory under `<deps>/<idx>/`, or undefined when it can. */
export function reservedNameProblem(name: string): string | undefined {
  if (RESERVED_DEPS_NAMES.includes(name)) {
    return `${JSON.stringify(name)} is one of the deps directory's own entries (${RESERVED_DEPS_NAMES.join(', ')}); rename the dependency`;
  }
  return undefined;
}

function checkName(kind: string, name: string): void {
  if (!SAFE_NAME.test(name) || name === '.' || name === '..') {
    throw new TypeError(`${kind} name ${JSON.stringify(name)} must be a plain file name`);
  }
}

export class DepsDirWriter {
  /** `<depsDir>/<depsIdx>`: the only place this buildpack writes. */
  readonly dir: string;

  constructor(readonly depsDir: string, readonly depsIdx: string) {
    this.dir = path.join(depsDir, depsIdx);
  }

  /** Absolute path of `rel` inside the deps dir; refuses paths that would leave it. */
  resolve(rel: string): string {
    const full = path.resolve(this.dir, rel);
    if (full !== this.dir && !full.startsWith(this.dir + path.sep)) {
      throw new TypeError(`${rel} is outside ${this.dir}`);
    }
    return full;
  }

  async writeConfig(config: BuildpackConfig): Promise<void> {
    const doc = { name: config.name, version: config.version, config: config.config ?? {}, ...(config.output_metadata ? { output_metadata: config.output_metadata } : {}) };
    await writeFileAtomic(this.resolve('config.yml'), emitYaml(doc as Record<string, YamlData>));
  }

  async writeLaunch(processes: LaunchProcess[]): Promise<void> {
    await writeFileAtomic(this.resolve('launch.yml'), renderLaunchYml(processes));
  }

  /** `env/NAME` holding the value: final buildpacks load these into the staging env. */
  async writeEnv(name: string, value: string): Promise<void> {
    checkName('env', name);
    await writeFileAtomic(this.resolve(path.join('env', name)), value);
  }

  /** `profile.d/<file>` (0755): sourced at launch before the app and every sidecar. */
  async writeProfileD(file: string, script: string): Promise<void> {
    checkName('profile.d', file);
    await writeFileAtomic(this.resolve(path.join('profile.d', file)), script, 0o755);
  }

  /** `bin/<name>` → `target` (relative link, so the droplet can move to /home/vcap/deps). */
  async linkBin(name: string, target: string): Promise<void> {
    checkName('bin', name);
    const link = this.resolve(path.join('bin', name));
    await symlinkAtomic(path.relative(path.dirname(link), this.resolve(target)), link);
  }

  /** Any other file under the deps dir, written atomically. */
  async writeFile(rel: string, contents: string, mode = 0o644): Promise<void> {
    await writeFileAtomic(this.resolve(rel), contents, mode);
  }
}
