import { expect } from 'chai';
import { promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { answersStack, COMPILED_MANIFEST_FORMAT, COMPILED_MANIFEST_PATH, compiledManifestFor, readCompiled, readCompiledManifest, renderCompiledManifest, stagingAnswers } from '../../src/manifest/compiled.js';
import { defaultVersion, getEntry } from '../../src/manifest/query.js';
import { installWarnings, installWarningsFrom } from '../../src/manifest/warnings.js';
import { runAsync } from '../helpers/spawn.js';
import { parseManifest } from '../../src/manifest/parse.js';
import { loadStagingManifest } from '../../src/manifest/staging.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { useTmpDirs } from '../helpers/tmp.js';
import { COMPAT_DIR, corpusText } from './corpus.js';

/** Every manifest of the corpus the parser accepts, and this repository's own. */
function acceptedManifests(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const f of readdirSync(path.join(COMPAT_DIR, 'manifests')).filter((n) => n.endsWith('.yml'))) {
    const text = corpusText(path.join('manifests', f));
    try {
      parseManifest(text, f);
    } catch {
      continue;
    }
    out.push({ name: f, text });
  }
  return out;
}

describe('the compiled manifest (dist/manifest.json)', () => {
  const tmpDir = useTmpDirs('compiled-');

  context('reads back exactly what the parser gives', () => {
    const cases = acceptedManifests();
    it('for most of the corpus', () => expect(cases.length).to.be.greaterThan(10));
    for (const { name, text } of cases) {
      it(name, () => {
        const parsed = parseManifest(text, '/bp/manifest.yml');
        const back = readCompiledManifest(renderCompiledManifest(parsed, text, 'test'), text, '/bp/manifest.yml');
        if (parsed.warnings?.length) expect(back, 'a manifest that warns is parsed at staging').to.equal(undefined);
        else expect(back).to.deep.equal(parsed);
      });
    }
  });

  context("carries staging's version answers, the same as asking", () => {
    const dates = ['2000-01-01', '2019-03-01', '2023-06-15', '2026-12-01', '2099-01-01'].map((d) => new Date(`${d}T00:00:00Z`));
    const cases = acceptedManifests();
    for (const { name, text } of cases) {
      it(name, () => {
        const m = parseManifest(text, 'manifest.yml');
        const answers = stagingAnswers(m);
        const stacks = [...new Set([m.stack, ...m.dependencies.flatMap((d) => d.cf_stacks), 'cflinuxfs9'].filter(Boolean)), undefined];
        for (const stack of stacks) {
          for (const dep of new Set(m.sidecars.map((sc) => sc.dependency))) {
            const known = answers[answersStack(stack)]?.[dep];
            let version: string | undefined;
            try {
              version = defaultVersion(m, dep, stack);
              getEntry(m, dep, version, stack);
            } catch {
              version = undefined;
            }
            expect(known?.version, `${dep} on ${stack}`).to.equal(version);
            if (!known || version === undefined) continue;
            const entry = getEntry(m, dep, version, stack);
            for (const now of dates) expect(installWarningsFrom(m, entry, known, now), `${dep} on ${stack} at ${now.toISOString()}`).to.deep.equal(installWarnings(m, entry, stack, now));
          }
        }
      });
    }

    it('answers for a manifest with sidecars, deprecations and a newer version (not only empty sets)', () => {
      const text = [
        'language: x',
        'default_versions: [{name: agent, version: 1.0.0}]',
        'dependency_deprecation_dates: [{name: agent, version_line: 1.0.x, date: "2026-12-15", link: "https://example.com/eol"}]',
        'dependencies:',
        ...['1.0.0', '1.0.1', '1.1.0'].map((v) => `- {name: agent, version: ${v}, uri: "https://example.com/a-${v}.tgz", sha256: ${'a'.repeat(64)}, cf_stacks: [cflinuxfs4]}`),
        'sidecars: [{name: agent, dependency: agent, command: bin/agent}]',
        '',
      ].join('\n');
      const m = parseManifest(text, 'm');
      const known = stagingAnswers(m).cflinuxfs4.agent;
      expect(known.version).to.equal('1.0.0');
      expect(known.eol).to.deep.equal([0]);
      expect(known.newer).to.include('version 1.0.1 instead of version 1.0.0');
      const entry = getEntry(m, 'agent', '1.0.0', 'cflinuxfs4');
      expect(installWarningsFrom(m, entry, known, new Date('2026-12-01T00:00:00Z'))).to.deep.equal(installWarnings(m, entry, 'cflinuxfs4', new Date('2026-12-01T00:00:00Z'))).and.to.have.length(2);
      expect(readCompiled(renderCompiledManifest(m, text, 't'), text, 'm')?.answers).to.deep.equal(stagingAnswers(m));
    });

    it('so a staging with them loads no semver (a process of its own: the tests load it)', async () => {
      const script = [
        "import { readFile } from 'node:fs/promises';",
        "import { loadStagingManifest } from './src/manifest/staging.ts';",
        "import { answersStack } from './src/manifest/compiled.ts';",
        "import { getEntry } from './src/manifest/query.ts';",
        "import { installWarningsFrom } from './src/manifest/warnings.ts';",
        "import { semverLoaded } from './src/manifest/semver-lazy.ts';",
        'const { manifest, answers, compiled } = await loadStagingManifest(process.cwd());',
        "const known = answers[answersStack('cflinuxfs4')]['config-server'];",
        "const entry = getEntry(manifest, 'config-server', known.version, 'cflinuxfs4');",
        'installWarningsFrom(manifest, entry, known, new Date());',
        'console.log(JSON.stringify({ compiled, version: known.version, semver: semverLoaded() }));',
      ].join('\n');
      const file = path.join(REPO_ROOT, `.compiled-test-${process.pid}.mts`);
      await fs.writeFile(file, script);
      try {
        const r = await runAsync(process.execPath, ['--import', 'tsx', file], { cwd: REPO_ROOT });
        expect(r.status, r.stderr).to.equal(0);
        expect(JSON.parse(r.stdout)).to.deep.equal({ compiled: true, version: '0.0.0', semver: false });
      } finally {
        await fs.rm(file, { force: true });
      }
    });
  });

  it("the repository's own is what manifest.yml gives (npm run build -- --check fails otherwise)", async () => {
    const text = await fs.readFile(path.join(REPO_ROOT, 'manifest.yml'), 'utf8');
    const committed = await fs.readFile(path.join(REPO_ROOT, COMPILED_MANIFEST_PATH), 'utf8');
    expect(committed).to.equal(compiledManifestFor(text, path.join(REPO_ROOT, 'manifest.yml'), 'scripts/build.mjs', parseManifest));
    expect(readCompiledManifest(committed, text, 'm')).to.not.equal(undefined);
  });

  context('is not used', () => {
    const text = 'language: x\ndependencies: []\n';
    const compiled = compiledManifestFor(text, 'm', 'test', parseManifest);
    it('for another manifest text (one byte edited)', () => expect(readCompiledManifest(compiled, `${text}\n`, 'm')).to.equal(undefined));
    it('in another format', () => expect(readCompiledManifest(compiled.replace(`"format":${COMPILED_MANIFEST_FORMAT}`, '"format":99'), text, 'm')).to.equal(undefined));
    it('when it is not JSON, or not a manifest', () => {
      for (const bad of ['', '{', 'null', '[]', '{"format":1}', compiled.replace(/"dependencies":\[\]/, '"dependencies":{}')]) {
        expect(readCompiledManifest(bad, text, 'm'), bad).to.equal(undefined);
      }
    });
  });

  context('staging (loadStagingManifest)', () => {
    const text = 'language: cfg\ndependencies:\n- name: cfg\n  version: 1.0.0\n  uri: https://example.com/cfg.tgz\n  sha256: ' + 'a'.repeat(64) + '\n  cf_stacks: [cflinuxfs4]\n';
    async function buildpack(files: Record<string, string>): Promise<string> {
      const dir = await tmpDir();
      await fs.mkdir(path.join(dir, 'dist'));
      for (const [rel, body] of Object.entries(files)) await fs.writeFile(path.join(dir, rel), body);
      return dir;
    }

    it('uses it when it was made from this manifest.yml, naming the file as the parser does', async () => {
      const dir = await buildpack({ 'manifest.yml': text, [COMPILED_MANIFEST_PATH]: compiledManifestFor(text, 'elsewhere', 'test', parseManifest) });
      const { manifest, compiled } = await loadStagingManifest(dir);
      expect(compiled).to.equal(true);
      expect(manifest).to.deep.equal(parseManifest(text, path.join(dir, 'manifest.yml')));
    });

    it('parses manifest.yml when it was edited since, when the file is missing or damaged', async () => {
      const edited = text.replace('1.0.0', '1.0.1');
      for (const compiledText of [compiledManifestFor(text, 'm', 'test', parseManifest), undefined, '{"format":1,']) {
        const dir = await buildpack({ 'manifest.yml': edited, ...(compiledText !== undefined ? { [COMPILED_MANIFEST_PATH]: compiledText } : {}) });
        const { manifest, compiled } = await loadStagingManifest(dir);
        expect(compiled).to.equal(false);
        expect(manifest.dependencies[0].version).to.equal('1.0.1');
      }
    });

    it('parses, and so warns with the file named, a manifest whose parse warns', async () => {
      const warns = `${text}defualt_versions: []\n`;
      const dir = await buildpack({ 'manifest.yml': warns, [COMPILED_MANIFEST_PATH]: compiledManifestFor(warns, 'm', 'test', parseManifest) });
      const { manifest, compiled } = await loadStagingManifest(dir);
      expect(compiled).to.equal(false);
      expect(manifest.warnings?.[0]).to.include(path.join(dir, 'manifest.yml')).and.include('"default_versions"');
    });

    it('refuses a malformed manifest.yml as the parser does, naming file and key, whatever the compiled file says', async () => {
      const bad = text.replace(`sha256: ${'a'.repeat(64)}`, 'sha256: nope');
      const dir = await buildpack({ 'manifest.yml': bad, [COMPILED_MANIFEST_PATH]: compiledManifestFor(text, 'm', 'test', parseManifest) });
      try {
        await loadStagingManifest(dir);
        expect.fail('loaded');
      } catch (e) {
        expect((e as Error).message).to.include(path.join(dir, 'manifest.yml')).and.include('dependencies[0].sha256');
      }
    });
  });
});
