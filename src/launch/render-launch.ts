// Rendering launch.yml (CONTRACT §1 "What the builder reads"), apart from reading it
// (launch-yml.ts): staging writes one at every run and must not load a YAML parser to do it.

import { emitYaml } from './emit-yaml.js';

/** One `processes[]` entry, with the lifecycle's field names (launch-cases.json `schema`). */
export interface LaunchProcess {
  /** Process type; the sidecar's name when `sidecarFor` is non-empty. */
  type: string;
  command: string;
  /** Integer MB; omitted when absent. */
  memory?: number;
  /** Process types it runs beside; non-empty = a sidecar. */
  sidecarFor?: string[];
}

/** Render the document. `limits.memory` is always an integer: "64M" would fail staging. */
export function renderLaunchYml(processes: LaunchProcess[]): string {
  const doc = {
    processes: processes.map((p) => {
      if (p.memory !== undefined && !(Number.isInteger(p.memory) && p.memory > 0)) {
        throw new TypeError(`launch.yml: memory of ${p.type} must be a positive integer (MB), got ${p.memory}`);
      }
      return {
        type: p.type,
        command: p.command,
        ...(p.memory !== undefined ? { limits: { memory: p.memory } } : {}),
        ...(p.sidecarFor && p.sidecarFor.length > 0
          ? { platforms: { cloudfoundry: { sidecar_for: [...p.sidecarFor] } } }
          : {}),
      };
    }),
  };
  return emitYaml(doc);
}

