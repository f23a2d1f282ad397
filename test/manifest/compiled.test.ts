import { expect } from 'chai';
import { promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { COMPILED_MANIFEST_FORMAT, COMPILED_MANIFEST_PATH, compiledManifestFor, readCompiledManifest, renderCompiledManifest } from '../../src/manifest/compiled.js';
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
