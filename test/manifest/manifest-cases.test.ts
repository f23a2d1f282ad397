// Table tests against shared/compat/manifest-cases.json: every case whose query this library
// answers (cases, parseCases, computedCases). Other queries belong to the installer/packager.

import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestError } from '../../src/errors.js';
import { applyOverrideFiles } from '../../src/manifest/override-file.js';
import { loadManifest, parseManifest } from '../../src/manifest/parse.js';
import {
  allDependencyVersions,
  checkStackSupport,
  defaultVersion,
  getEntry,
  isCached,
  onlyVersion,
  readBuildpackVersion,
} from '../../src/manifest/query.js';
import type { Manifest } from '../../src/manifest/types.js';
import { installWarnings, stackWarnings, type VersionLine } from '../../src/manifest/warnings.js';
import { corpusJson, corpusText, makeBuildpackDir, removeDir } from './corpus.js';

interface Case {
  manifest: string;
  query: string;
  stack?: string;
  now?: string;
  name?: string;
  path?: string;
  versionFile?: string;
  versionLine?: Record<string, VersionLine>;
  dependency?: { name: string; version: string };
  setup?: Record<string, unknown>;
  expect?: unknown;
  expectDependency?: { name: string; version: string };
  allDependencyVersions?: string[];
  error?: string | boolean;
  errorExact?: boolean;
  sourceMessage?: string;
  logContains?: string;
  logNotContains?: string;
  source: string;
}

const corpus = corpusJson<{ cases: Case[]; parseCases: Case[]; computedCases: Case[] }>('manifest-cases.json');
/** Manifests the compat README expects to be refused (sha256 `fffffff`). */
const REFUSED = new Set(['manifests/libbuildpack-packager-fixture-bad.yml', 'manifests/libbuildpack-packager-fixture-missing_included_files.yml']);

/** What the libbuildpack logger would print for our warning strings (`**WARNING** ` + text). */
function warningLog(warnings: string[]): string {
  return warnings.map((w) => `**WARNING** ${w}\n`).join('');
}

/** Run a case; returns the value and the log text our warnings stand for. */
async function answer(c: Case): Promise<{ value?: unknown; log: string }> {
  const setup = c.setup ?? {};
  const dir = await makeBuildpackDir(corpusText(c.manifest), {
    versionFile: setup.versionFileExists === false ? undefined : c.versionFile,
    dependenciesDir: setup.dependenciesDirExists === true,
  });
  try {
    let m = await loadManifest(dir);
    if (setup.applyOverride) {
      const depsDir = join(dir, 'deps');
      for (const [idx, files] of Object.entries(setup.depsDir as Record<string, Record<string, unknown>>)) {
        await mkdir(join(depsDir, idx), { recursive: true });
        // JSON is YAML: the corpus shows override.yml as JSON.
        for (const [name, doc] of Object.entries(files)) await writeFile(join(depsDir, idx, name), JSON.stringify(doc));
      }
      m = await applyOverrideFiles(m, depsDir);
    }
    const stack = c.stack ?? '';
    switch (c.query) {
      case 'language':
        return { value: m.language, log: '' };
      case 'version':
        return { value: await readBuildpackVersion(dir), log: '' };
      case 'isCached':
        return { value: await isCached(dir), log: '' };
      case 'checkStackSupport': {
        const log = warningLog(stackWarnings(stack));
        checkStackSupport(m, stack);
        return { value: 'ok', log };
      }
      case 'allDependencyVersions':
        return { value: allDependencyVersions(m, c.name!, stack), log: '' };
      case 'defaultVersion':
        return { value: defaultVersion(m, c.name!, stack), log: '' };
      case 'getEntry': {
        const e = getEntry(m, c.dependency!.name, c.dependency!.version, stack);
        return { value: { name: e.name, version: e.version }, log: '' };
      }
      case 'installOnlyVersion':
        onlyVersion(m, c.name!, stack);
        return { value: 'ok', log: '' };
      case 'installDependency': {
        const dep = getEntry(m, c.dependency!.name, c.dependency!.version, stack);
        const now = c.now ? new Date(`${c.now}T00:00:00Z`) : new Date();
        return { log: warningLog(installWarnings(m, dep, stack, now, c.versionLine?.[dep.name])) };
      }
      case 'parseField':
        return { value: fieldAt(m, c.path!), log: '' };
      default:
        throw new Error(`not our query: ${c.query}`);
    }
  } finally {
    await removeDir(dir);
  }
}

function fieldAt(m: Manifest, path: string): unknown {
  let cur: unknown = m;
  for (const part of path.match(/[^.[\]]+/g) ?? []) cur = (cur as Record<string, unknown>)[part];
  return cur;
}

/** Which corpus cases are ours: manifest queries, and install cases that assert on warnings only. */
function isOurs(c: Case): boolean {
  if (['language', 'version', 'isCached', 'checkStackSupport', 'allDependencyVersions', 'defaultVersion', 'getEntry', 'installOnlyVersion', 'parseField'].includes(c.query)) {
    return true;
  }
  if (c.query !== 'installDependency' || c.setup?.download || c.error) return false;
  const text = c.logContains ?? c.logNotContains ?? '';
  return !text.startsWith('----->');
}

function expectCase(c: Case, run: () => Promise<{ value?: unknown; log: string }>) {
  return async () => {
    if (c.error) {
      let caught: unknown;
      try {
        await run();
      } catch (e) {
        caught = e;
      }
      expect(caught, 'expected an error').to.be.instanceOf(Error);
      const msg = (caught as Error).message;
      if (typeof c.error === 'string') {
        if (c.errorExact) expect(msg).to.equal(c.error);
        else expect(msg).to.contain(c.error);
      } else if (c.sourceMessage) {
        expect(msg).to.equal(c.sourceMessage);
      }
      return;
    }
    const { value, log } = await run();
    if (c.expectDependency) {
      const got = typeof value === 'string' ? { name: c.name, version: value } : value;
      expect(got).to.deep.equal(c.expectDependency);
    }
    if (c.expect !== undefined) expect(value).to.deep.equal(c.expect);
    if (c.logContains !== undefined) expect(log).to.contain(c.logContains);
    if (c.logNotContains !== undefined) expect(log).not.to.contain(c.logNotContains);
  };
}

describe('manifest-cases.json', () => {
  describe('cases', () => {
    const ours = corpus.cases.filter(isOurs);
    it('covers the manifest queries and warning texts', () => {
      expect(ours.length).to.equal(60);
    });
    ours.forEach((c, i) => {
      it(`#${i} ${c.query}${c.stack ? ` on ${c.stack}` : ''} — ${c.source}`, expectCase(c, () => answer(c)));
    });
  });

  describe('computedCases', () => {
    corpus.computedCases.forEach((c) => {
      it(`default ${c.name} on ${c.stack} in ${c.manifest}`, async () => {
        const m = parseManifest(corpusText(c.manifest), c.manifest);
        expect(allDependencyVersions(m, c.name!, c.stack)).to.deep.equal(c.allDependencyVersions);
        if (c.error) expect(() => defaultVersion(m, c.name!, c.stack)).to.throw(c.error as string).with.property('message', c.error);
        else expect(defaultVersion(m, c.name!, c.stack)).to.equal(c.expect);
      });
    });
  });

  describe('parseCases', () => {
    const summary = (m: Manifest) => ({
      language: m.language,
      stack: m.stack,
      defaultVersions: m.default_versions,
      dependencyCount: m.dependencies.length,
      dependencyNames: [...new Set(m.dependencies.map((d) => d.name))].sort(),
      stacks: [...new Set(m.dependencies.flatMap((d) => d.cf_stacks))].sort(),
      deprecationCount: m.dependency_deprecation_dates.length,
      includeFilesCount: m.include_files.length,
      prePackage: m.pre_package ?? '',
    });
    corpus.parseCases.forEach((c) => {
      if (REFUSED.has(c.manifest)) {
        context(`when the manifest is ${c.manifest} (sha256: fffffff)`, () => {
          it('is refused, naming the key (deliberate deviation)', () => {
            expect(() => parseManifest(corpusText(c.manifest), c.manifest))
              .to.throw(ManifestError, `${c.manifest}: dependencies[0].sha256: not a sha256`)
              .with.property('key', 'dependencies[0].sha256');
          });
          it('answers the other fields once the digest is well-formed', () => {
            const fixed = corpusText(c.manifest).replace('sha256: fffffff', `sha256: ${'f'.repeat(64)}`);
            expect(summary(parseManifest(fixed, c.manifest))).to.deep.equal(c.expect);
          });
        });
        return;
      }
      it(`parses ${c.manifest}`, () => {
        expect(summary(parseManifest(corpusText(c.manifest), c.manifest))).to.deep.equal(c.expect);
      });
    });
  });
});
