// launch.yml documents (CONTRACT §1 "What the builder reads"): the process/sidecar declarations a
// supply buildpack leaves in <deps>/<idx>/launch.yml. Pure rendering and reading; no I/O.

import { parse, stringify } from 'yaml';

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
  return stringify(doc, { lineWidth: 0 });
}

/** Read a launch.yml document the way the lifecycle does (unknown keys ignored). */
export function readLaunchYml(text: string): LaunchProcess[] {
  const doc = (parse(text) ?? {}) as { processes?: unknown };
  const list = Array.isArray(doc.processes) ? doc.processes : [];
  return list.map((raw, i) => {
    const p = (raw ?? {}) as Record<string, any>;
    if (typeof p.type !== 'string' || typeof p.command !== 'string') {
      throw new TypeError(`launch.yml: processes[${i}] needs a string type and command`);
    }
    const memory = p.limits?.memory;
    const sidecarFor = p.platforms?.cloudfoundry?.sidecar_for;
    return {
      type: p.type,
      command: p.command,
      ...(typeof memory === 'number' && memory > 0 ? { memory } : {}),
      ...(Array.isArray(sidecarFor) && sidecarFor.length > 0 ? { sidecarFor: sidecarFor.map(String) } : {}),
    };
  });
}
