// `summary`: markdown tables of a buildpack's dependencies and default versions in
// libbuildpack's format (byte for byte), plus this toolkit's sidecars. A loose read of the
// document, as libbuildpack's own summary is, so it works on any manifest it can list.

import semver from 'semver';
import { isMap, isSeq } from 'yaml';
import { parseLenientSemver } from '../manifest/versions.js';
import { listOf, scalarOf, topSeq, rootMap, type ManifestDocument } from './manifest-doc.js';

export interface SummaryDependency {
  name: string;
  version: string;
  cf_stacks: string[];
  /** Names of the entry's nested `dependencies` (libbuildpack's "modules"), sorted. */
  modules: string[];
}

export interface SummarySidecar {
  name: string;
  dependency: string;
  process_types: string[];
  /** MB, or null when the sidecar has no own limit. */
  memory: number | null;
}

export interface SummaryData {
  dependencies: SummaryDependency[];
  default_versions: { name: string; version: string }[];
  sidecars: SummarySidecar[];
  packaging_profiles: { name: string; description: string; exclude: string[] }[];
}

/** libbuildpack's order: by name, then by version as semver (1.2.3 < 1.11.3), text as a last resort. */
export function sortDependencies<T extends { name: string; version: string }>(deps: T[]): T[] {
  return [...deps].sort((a, b) => {
    if (a.name !== b.name) return a.name < b.name ? -1 : 1;
    const va = parseLenientSemver(a.version);
    const vb = parseLenientSemver(b.version);
    if (va && vb) return semver.compare(va, vb);
    return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
  });
}

/** The facts the summary shows, from the manifest document. */
export function summaryData(m: ManifestDocument): SummaryData {
  const dependencies = (topSeq(m, 'dependencies')?.items ?? []).filter(isMap).map((d) => {
    const nested = d.get('dependencies', true);
    const modules = isSeq(nested) ? nested.items.map((x) => scalarOf(x, 'name')).filter((n) => n !== '').sort() : [];
    return { name: scalarOf(d, 'name'), version: scalarOf(d, 'version'), cf_stacks: listOf(d, 'cf_stacks'), modules };
  });
  const defaults = (topSeq(m, 'default_versions')?.items ?? []).filter(isMap).map((d) => ({ name: scalarOf(d, 'name'), version: scalarOf(d, 'version') }));
  const sidecars = (topSeq(m, 'sidecars')?.items ?? []).filter(isMap).map((s) => {
    const types = listOf(s, 'process_types');
    const memory = Number.parseInt(scalarOf(s, 'memory'), 10);
    return {
      name: scalarOf(s, 'name'),
      dependency: scalarOf(s, 'dependency'),
      process_types: types.length > 0 ? types : ['web'],
      memory: Number.isFinite(memory) ? memory : null,
    };
  });
  const profilesNode = rootMap(m).get('packaging_profiles', true);
  const packaging_profiles = isMap(profilesNode)
    ? profilesNode.items
        .map((p) => ({ name: String((p.key as { value?: unknown })?.value ?? p.key), description: scalarOf(p.value, 'description'), exclude: listOf(p.value, 'exclude') }))
        .sort((a, b) => (a.name < b.name ? -1 : 1))
    : [];
  return { dependencies: sortDependencies(dependencies), default_versions: defaults, sidecars, packaging_profiles };
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |\n`;
  return line(header) + `|${header.map(() => '-').join('|')}|\n` + rows.map(line).join('');
}

/** The markdown text: '' when the manifest lists nothing. */
export function renderSummary(data: SummaryData): string {
  let out = '';
  if (data.dependencies.length > 0) {
    const withModules = data.dependencies.some((d) => d.modules.length > 0);
    const header = ['name', 'version', 'cf_stacks', ...(withModules ? ['modules'] : [])];
    const rows = data.dependencies.map((d) => [d.name, d.version, d.cf_stacks.join(', '), ...(withModules ? [d.modules.join(', ')] : [])]);
    out += `\nPackaged binaries:\n\n${table(header, rows)}`;
  }
  if (data.default_versions.length > 0) {
    out += `\nDefault binary versions:\n\n${table(['name', 'version'], data.default_versions.map((d) => [d.name, d.version]))}`;
  }
  if (data.sidecars.length > 0) {
    const rows = data.sidecars.map((s) => [s.name, s.process_types.join(', '), s.memory === null ? '' : `${s.memory} MB`]);
    out += `\nSidecars:\n\n${table(['name', 'process types', 'memory'], rows)}`;
  }
  if (data.packaging_profiles.length > 0) {
    const rows = data.packaging_profiles.map((p) => [p.name, p.description, p.exclude.join(', ')]);
    out += `\nPackaging profiles:\n\n${table(['name', 'description', 'excludes'], rows)}`;
  }
  return out;
}
