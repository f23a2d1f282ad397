// The builder's process/sidecar merge (CONTRACT §1, compat/launch-cases.json): launch.yml
// documents in index order, then the final buildpack's launch.yml or bin/release, then Procfile.
// Pure functions: text in, staging-result parts out.

import { LineCounter, parseDocument, isMap, isScalar } from 'yaml';
import { LaunchYmlError, readLaunchYml, yamlString } from '../../launch/launch-yml.js';
import type { StagedProcess, StagedSidecar } from '../types.js';

/** One `processes[]` entry of a launch.yml (or a release/Procfile process, without platforms). */
export interface LaunchProcess {
  type: string;
  command: string;
  /** `platforms.cloudfoundry.sidecar_for`; non-empty = a sidecar. */
  sidecar_for: string[];
  /** `limits.memory` in MB; 0 when absent. */
  memory: number;
}

/** A launch.yml / release / Procfile document the builder could not read. */
export { LaunchYmlError as LaunchParseError };

/** Parse a launch.yml as the builder does: the project's one reader, `readLaunchYml`. */
export function parseLaunchYml(text: string): LaunchProcess[] {
  return readLaunchYml(text).map((p) => ({ type: p.type, command: p.command, sidecar_for: p.sidecarFor ?? [], memory: p.memory ?? 0 }));
}

/** A `type: command` map (Procfile, release's default_process_types) in document order. */
function mapToProcesses(node: unknown, what: string, lc: LineCounter): LaunchProcess[] {
  if (node == null || (isScalar(node) && node.value === null)) return [];
  if (!isMap(node)) throw new LaunchYmlError(`${what}: not a map of process types`);
  return node.items.map((pair) => ({
    type: yamlString(pair.key, lc),
    command: yamlString(pair.value, lc),
    sidecar_for: [],
    memory: 0,
  }));
}

/** Parse a Procfile: YAML `type: command` (the builder reads it with yaml.v2). */
export function parseProcfile(text: string): LaunchProcess[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length > 0) throw new LaunchYmlError('invalid YAML');
  return mapToProcesses(doc.contents, 'Procfile', lc);
}

/** Parse `bin/release` output: YAML with `default_process_types`. */
export function parseRelease(text: string): LaunchProcess[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length > 0) throw new LaunchYmlError(`buildpack's release output invalid: ${doc.errors[0].message}`);
  const root = doc.contents;
  return mapToProcesses(isMap(root) ? root.get('default_process_types', true) : undefined, "buildpack's release output invalid", lc);
}

/** What a merge replaced in a way that changed its kind (process ↔ sidecar): a local hint. */
export interface MergeNote {
  type: string;
  from: 'process' | 'sidecar';
  to: 'process' | 'sidecar';
}

const kind = (p: LaunchProcess): 'process' | 'sidecar' => (p.sidecar_for.length > 0 ? 'sidecar' : 'process');

/**
 * The builder's merge: each entry of `later` replaces every earlier entry of the same type in
 * place, or is appended. Notes record replacements that turned a process into a sidecar or back.
 */
export function mergeProcesses(earlier: LaunchProcess[], later: LaunchProcess[], notes: MergeNote[] = []): LaunchProcess[] {
  const result = [...earlier];
  for (const p of later) {
    let replaced = false;
    for (let i = 0; i < result.length; i++) {
      if (result[i].type === p.type) {
        if (kind(result[i]) !== kind(p)) notes.push({ type: p.type, from: kind(result[i]), to: kind(p) });
        result[i] = p;
        replaced = true;
      }
    }
    if (!replaced) result.push(p);
  }
  return result;
}

/** The staging-result parts of a merged list (processes vs sidecars; memory omitted when 0). */
export function toResultParts(merged: LaunchProcess[]): {
  process_types: Record<string, string>;
  processes: StagedProcess[] | null;
  sidecars: StagedSidecar[] | null;
} {
  const process_types: Record<string, string> = {};
  const processes: StagedProcess[] = [];
  const sidecars: StagedSidecar[] = [];
  for (const p of merged) {
    if (p.sidecar_for.length === 0) {
      processes.push({ type: p.type, command: p.command });
      process_types[p.type] = p.command;
    } else {
      const s: StagedSidecar = { name: p.type, process_types: [...p.sidecar_for], command: p.command };
      if (p.memory !== 0) s.memory = p.memory;
      sidecars.push(s);
    }
  }
  return {
    process_types,
    processes: processes.length > 0 ? processes : null,
    sidecars: sidecars.length > 0 ? sidecars : null,
  };
}

/** The inputs of the whole merge, in the builder's order. */
export interface MergeInput {
  /** Each supply buildpack's launch.yml, by index (undefined when it wrote none). */
  supply: Array<LaunchProcess[] | undefined>;
  /** The final buildpack's launch.yml; when present, bin/release's processes are not used. */
  final?: LaunchProcess[];
  /** bin/release's default_process_types (used only without a final launch.yml). */
  release?: LaunchProcess[];
  procfile?: LaunchProcess[];
}

/** Merge everything as the builder does; `notes` collects kind-changing replacements. */
export function mergeLaunch(input: MergeInput, notes: MergeNote[] = []): LaunchProcess[] {
  let merged: LaunchProcess[] = [];
  for (const doc of input.supply) if (doc) merged = mergeProcesses(merged, doc, notes);
  merged = mergeProcesses(merged, input.final ?? input.release ?? [], notes);
  return mergeProcesses(merged, input.procfile ?? [], notes);
}
