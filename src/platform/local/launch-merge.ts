// The builder's process/sidecar merge (CONTRACT §1, compat/launch-cases.json): launch.yml
// documents in index order, then the final buildpack's launch.yml or bin/release, then Procfile.
// Pure functions: text in, staging-result parts out.

import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml';
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
export class LaunchParseError extends Error {}

function scalarText(node: unknown, lc: LineCounter, expect: 'string' | 'int'): string | number {
  if (node == null) return expect === 'int' ? 0 : '';
  const n = node as Node;
  const line = n.range ? lc.linePos(n.range[0]).line : 0;
  if (!isScalar(n)) throw new LaunchParseError(`yaml: unmarshal errors:\n  line ${line}: cannot unmarshal !!${isSeq(n) ? 'seq' : 'map'} into ${expect}`);
  const v = n.value;
  if (v === null) return expect === 'int' ? 0 : '';
  if (expect === 'int') {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    // yaml.v2 refuses a string (or float) for an int field: `64M` fails staging.
    const tag = typeof v === 'number' ? 'float' : typeof v === 'boolean' ? 'bool' : 'str';
    throw new LaunchParseError(`yaml: unmarshal errors:\n  line ${line}: cannot unmarshal !!${tag} \`${n.source ?? String(v)}\` into int`);
  }
  return n.source ?? String(v);
}

function child(map: unknown, key: string): unknown {
  return isMap(map) ? map.get(key, true) : undefined;
}

/** Parse a launch.yml as the builder's yaml.v2 struct does (strings lenient, ints strict). */
export function parseLaunchYml(text: string): LaunchProcess[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length > 0) throw new LaunchParseError(`yaml: ${doc.errors[0].message}`);
  const root = doc.contents;
  if (root == null) return [];
  const procs = child(root, 'processes');
  if (procs == null) return [];
  if (!isSeq(procs)) throw new LaunchParseError('yaml: unmarshal errors:\n  cannot unmarshal processes into a list');
  return procs.items.map((item) => {
    const cfPlat = child(child(item, 'platforms'), 'cloudfoundry');
    const sidecarFor = child(cfPlat, 'sidecar_for');
    const targets = isSeq(sidecarFor) ? sidecarFor.items.map((t) => String(scalarText(t, lc, 'string'))) : [];
    return {
      type: String(scalarText(child(item, 'type'), lc, 'string')),
      command: String(scalarText(child(item, 'command'), lc, 'string')),
      sidecar_for: targets,
      memory: Number(scalarText(child(child(item, 'limits'), 'memory'), lc, 'int')),
    };
  });
}

/** A `type: command` map (Procfile, release's default_process_types) in document order. */
function mapToProcesses(node: unknown, what: string): LaunchProcess[] {
  if (node == null) return [];
  if (!isMap(node)) throw new LaunchParseError(`${what}: not a map of process types`);
  return node.items.map((pair) => ({
    type: String(isScalar(pair.key) ? pair.key.value : pair.key),
    command: isScalar(pair.value) && pair.value.value != null ? String(pair.value.value) : '',
    sidecar_for: [],
    memory: 0,
  }));
}

/** Parse a Procfile: YAML `type: command` (the builder reads it with yaml.v2). */
export function parseProcfile(text: string): LaunchProcess[] {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new LaunchParseError('invalid YAML');
  return mapToProcesses(doc.contents, 'Procfile');
}

/** Parse `bin/release` output: YAML with `default_process_types`. */
export function parseRelease(text: string): LaunchProcess[] {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new LaunchParseError(`buildpack's release output invalid: ${doc.errors[0].message}`);
  return mapToProcesses(child(doc.contents, 'default_process_types'), "buildpack's release output invalid");
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
