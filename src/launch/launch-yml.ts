// launch.yml documents (CONTRACT §1 "What the builder reads"): the process/sidecar declarations a
// supply buildpack leaves in <deps>/<idx>/launch.yml. Pure rendering and reading; no I/O.

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { BuildpackError } from '../errors.js';
import type { LaunchProcess } from './render-launch.js';

export { renderLaunchYml, type LaunchProcess } from './render-launch.js';

/** A launch.yml the builder cannot read: yaml.v2's message (with the line), so staging fails with it. */
export class LaunchYmlError extends BuildpackError {
  constructor(message: string) {
    super('LAUNCH_YML_INVALID', message);
  }
}

function lineOf(node: Node | null | undefined, lc: LineCounter): number {
  return node?.range ? lc.linePos(node.range[0]).line : 0;
}

/** yaml.v2's name of a node's kind. */
function kindOf(node: Node): string {
  if (isSeq(node)) return 'seq';
  if (isMap(node)) return 'map';
  const v = (node as Scalar).value;
  return typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v === 'boolean' ? 'bool' : 'str';
}

function refuse(node: Node, lc: LineCounter, into: string): never {
  const source = isScalar(node) ? ` \`${node.source ?? String(node.value)}\`` : '';
  throw new LaunchYmlError(`yaml: unmarshal errors:\n  line ${lineOf(node, lc)}: cannot unmarshal !!${kindOf(node)}${source} into ${into}`);
}

/** A string field as yaml.v2 fills a Go string: any scalar's text; null or absent is ''. */
export function yamlString(node: unknown, lc: LineCounter): string {
  if (node == null) return '';
  const n = node as Node;
  if (!isScalar(n)) refuse(n, lc, 'string');
  if (n.value === null) return '';
  return n.source ?? String(n.value);
}

/** An int field: only an integer scalar (a string such as `64M` fails staging). */
function yamlInt(node: unknown, lc: LineCounter): number {
  if (node == null) return 0;
  const n = node as Node;
  if (!isScalar(n)) refuse(n, lc, 'int');
  if (n.value === null) return 0;
  if (typeof n.value === 'number' && Number.isInteger(n.value)) return n.value;
  return refuse(n, lc, 'int');
}

/** A struct field: a map, or null/absent. */
function yamlMap(node: unknown, lc: LineCounter, into: string): YAMLMap | undefined {
  if (node == null) return undefined;
  const n = node as Node;
  if (isScalar(n) && n.value === null) return undefined;
  if (!isMap(n)) refuse(n, lc, into);
  return n;
}

function yamlSeq(node: unknown, lc: LineCounter, into: string): YAMLSeq | undefined {
  if (node == null) return undefined;
  const n = node as Node;
  if (isScalar(n) && n.value === null) return undefined;
  if (!isSeq(n)) refuse(n, lc, into);
  return n;
}

/**
 * Read a launch.yml document as the builder does (yaml.v2 into its struct: unknown keys ignored,
 * string fields take any scalar, ints only integers, a wrong kind fails with the line). The one
 * reader of launch.yml in this project: the local platform's builder uses it too.
 */
export function readLaunchYml(text: string): LaunchProcess[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new LaunchYmlError(`yaml: line ${e.linePos?.[0]?.line ?? 0}: ${e.message.split('\n')[0]}`);
  }
  const root = yamlMap(doc.contents, lc, 'launch.yml (a map)');
  const list = yamlSeq(root?.get('processes', true), lc, '[]process (a list of processes)');
  return (list?.items ?? []).map((item) => {
    const p = yamlMap(item, lc, 'process (a map)');
    const limits = yamlMap(p?.get('limits', true), lc, 'limits (a map)');
    const platforms = yamlMap(p?.get('platforms', true), lc, 'platforms (a map)');
    const cf = yamlMap(platforms?.get('cloudfoundry', true), lc, 'cloudfoundry (a map)');
    const targets = yamlSeq(cf?.get('sidecar_for', true), lc, '[]string');
    const sidecarFor = (targets?.items ?? []).map((t) => yamlString(t, lc));
    const memory = yamlInt(limits?.get('memory', true), lc);
    return {
      type: yamlString(p?.get('type', true), lc),
      command: yamlString(p?.get('command', true), lc),
      ...(memory !== 0 ? { memory } : {}),
      ...(sidecarFor.length > 0 ? { sidecarFor } : {}),
    };
  });
}
