// Unit tests of parseManifest/loadManifest: the corpus manifests load (or are refused) as
// shared/compat/README.md says, scalars stay strings, and hostile or broken input is refused.

import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { mkdtemp, writeFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestError } from '../../src/errors.js';
import { loadManifest, parseManifest } from '../../src/manifest/parse.js';
import { expectThrow } from '../helpers/assert.js';
import { COMPAT_DIR, corpusJson, corpusText, makeBuildpackDir, removeDir } from './corpus.js';

const SHA = 'a'.repeat(64);
const APP_MANIFESTS = ['capi-sidecar-app-manifest.yml', 'sidecar-part4-app-manifest.yml', 'example-sidecar-launch.yml'];
const REFUSED: Record<string, string> = {
  'libbuildpack-packager-fixture-bad.yml': 'dependencies[0].sha256',
  'libbuildpack-packager-fixture-missing_included_files.yml': 'dependencies[0].sha256',
};

function dep(extra = ''): string {
  return `dependencies:\n- name: thing\n  version: 1.2.3\n  uri: https://example.org/thing.tgz\n  sha256: ${SHA}\n  cf_stacks: [cflinuxfs4]\n${extra}`;
}

function refusal(text: string): ManifestError {
  return expectThrow(() => parseManifest(text, 'manifest.yml'), ManifestError);
}

describe('parseManifest', () => {
  describe('the compat corpus manifests', () => {
    const files = readdirSync(join(COMPAT_DIR, 'manifests')).filter((f) => f.endsWith('.yml') && !APP_MANIFESTS.includes(f));
    it('includes every buildpack manifest of the corpus', () => {
      expect(files.length).to.equal(25);
    });
    for (const f of files) {
      if (REFUSED[f]) {
        it(`refuses ${f} naming ${REFUSED[f]}`, () => {
          const e = (() => {
            try {
              parseManifest(corpusText(`manifests/${f}`), f);
            } catch (err) {
              return err as ManifestError;
            }
            return undefined;
          })();
          expect(e).to.be.instanceOf(ManifestError);
          expect(e!.key).to.equal(REFUSED[f]);
          expect(e!.message).to.equal(`${f}: ${REFUSED[f]}: not a sha256 (expected 64 hexadecimal characters)`);
        });
      } else {
        it(`loads ${f}`, async () => {
          const dir = await makeBuildpackDir(corpusText(`manifests/${f}`));
          try {
            const m = await loadManifest(dir);
            expect(m.file).to.equal(join(dir, 'manifest.yml'));
            expect(m.sidecars).to.deep.equal([]);
          } finally {
            await removeDir(dir);
          }
        });
      }
    }

    it('agrees with packager-cases.json: the fixtures its failing cases use are the refused ones', () => {
      const packager = corpusJson<{ fixtures: Record<string, { manifest: string }> }>('packager-cases.json');
      for (const name of ['bad', 'missing_included_files']) {
        const file = packager.fixtures[name].manifest;
        expect(() => parseManifest(corpusText(file), file)).to.throw(ManifestError, 'not a sha256');
      }
      for (const name of ['good', 'with_profiles', 'prepackaged', 'modified', 'no_dependencies', 'sub_dependencies', 'symlink_dir', 'missing_default_fs3']) {
        const file = packager.fixtures[name].manifest;
        expect(() => parseManifest(corpusText(file), file), name).not.to.throw();
      }
    });

    it('keeps unknown keys: packaging_profiles in raw, nested dependencies in extra', () => {
      const profiles = parseManifest(corpusText('manifests/libbuildpack-packager-fixture-with_profiles.yml'), 'p.yml');
      expect(profiles.raw.packaging_profiles).to.have.keys(['minimal', 'no-profiler']);
      const sub = parseManifest(corpusText('manifests/libbuildpack-packager-fixture-sub_dependencies.yml'), 's.yml');
      expect(sub.dependencies[0].extra.md5).to.equal('2ed515dd61fd09206b8f38edf9de6fee');
      expect(sub.dependencies[0].extra.dependencies).to.deep.equal([{ name: 'gearman' }, { name: 'zlib' }, { name: 'geoip', version: '1.5.3' }]);
    });

    it('reads keys with no value as empty lists', () => {
      const m = parseManifest(corpusText('manifests/libbuildpack-packager-fixture-modified.yml'), 'm.yml');
      expect(m.default_versions).to.deep.equal([]);
      expect(m.dependencies).to.deep.equal([]);
      expect(m.dependency_deprecation_dates).to.deep.equal([]);
    });

    it('keeps the cached-buildpack file: and quoted versions', () => {
      const cached = parseManifest(corpusText('manifests/libbuildpack-fixture-fetch_cached.yml'), 'c.yml');
      expect(cached.dependencies.find((d) => d.file)?.file).to.match(/^dependencies\/[0-9a-f]{32}\//);
      const go = parseManifest(corpusText('manifests/go-buildpack.yml'), 'go.yml');
      expect(go.dependencies.filter((d) => d.name === 'godep').map((d) => d.version)).to.deep.equal(['80', '80']);
    });
  });

  describe('scalars', () => {
    it('keeps every scalar as its literal text', () => {
      const m = parseManifest(
        `language: 123\ndefault_versions:\n- {name: thing, version: 1.10}\ndependency_deprecation_dates:\n- {name: thing, version_line: 1.x, date: 2018-04-01}\n${dep()}`,
        'manifest.yml',
      );
      expect(m.language).to.equal('123');
      expect(m.default_versions[0].version).to.equal('1.10');
      expect(m.dependency_deprecation_dates[0].date).to.equal('2018-04-01');
      expect(m.dependencies[0].version).to.equal('1.2.3');
    });
    it('keeps extra scalars as strings too', () => {
      const m = parseManifest(dep('  flag: true\n  count: 7\n  nothing: ~\n'), 'manifest.yml');
      expect(m.dependencies[0].extra).to.deep.equal({ flag: 'true', count: '7', nothing: null });
    });
    it('accepts leading comments, no ---, and an empty document', () => {
      expect(parseManifest('# generated\n# twice\nlanguage: x\n', 'm.yml').language).to.equal('x');
      const empty = parseManifest('', 'm.yml');
      expect(empty).to.include({ language: '', stack: '' });
      expect(empty.dependencies).to.deep.equal([]);
    });
    it('lowercases sha256 digests and leaves absent ones empty', () => {
      const m = parseManifest(dep().replace(SHA, 'A'.repeat(64)), 'm.yml');
      expect(m.dependencies[0].sha256).to.equal(SHA);
      const noSha = parseManifest('dependencies:\n- {name: a, version: "1", uri: "file:///tmp/a"}\n', 'm.yml');
      expect(noSha.dependencies[0].sha256).to.equal('');
    });
    it('expands a few aliases', () => {
      const m = parseManifest(`stacks: &s [cflinuxfs4]\ndependencies:\n- {name: a, version: "1", uri: "https://x/a", cf_stacks: *s}\n`, 'm.yml');
      expect(m.dependencies[0].cf_stacks).to.deep.equal(['cflinuxfs4']);
    });
  });

  context('failure cases', () => {
    it('refuses a sha256 that is not 64 hex characters', () => {
      const e = refusal(dep().replace(SHA, 'g'.repeat(64)));
      expect(e.key).to.equal('dependencies[0].sha256');
      expect(refusal(dep(`  source_sha256: abc\n`)).key).to.equal('dependencies[0].source_sha256');
    });
    it('names the index of the bad entry', () => {
      const text = `${dep()}- name: other\n  version: 2.0.0\n  uri: ftp://example.org/x\n`;
      const e = refusal(text);
      expect(e.message).to.equal('manifest.yml: dependencies[1].uri: scheme ftp is not supported (use http, https or file)');
    });
    it('requires name, version and uri of a dependency', () => {
      expect(refusal('dependencies:\n- {version: "1", uri: "https://x/a"}\n').key).to.equal('dependencies[0].name');
      expect(refusal('dependencies:\n- {name: a, uri: "https://x/a"}\n').key).to.equal('dependencies[0].version');
      expect(refusal('dependencies:\n- {name: a, version: "1"}\n').key).to.equal('dependencies[0].uri');
      expect(refusal('dependencies:\n- {name: a, version: "1", uri: "not a uri"}\n').message).to.contain('not a valid URI');
    });
    it('never echoes credentials of a bad URI', () => {
      const e = refusal('dependencies:\n- {name: a, version: "1", uri: "gopher://user:secret@host/x"}\n');
      expect(e.message).not.to.contain('secret');
      const bad = refusal('dependencies:\n- {name: a, version: "1", uri: "https://user:secret@exa mple/x"}\n');
      expect(bad.message).not.to.contain('secret');
    });
    it('refuses dependency names that are not a plain path segment', () => {
      expect(refusal('dependencies:\n- {name: ../evil, version: "1", uri: "https://x/a"}\n').key).to.equal('dependencies[0].name');
    });
    it('refuses a cached file: outside the buildpack', () => {
      expect(refusal(dep('  file: ../../etc/passwd\n')).key).to.equal('dependencies[0].file');
      expect(refusal(dep('  file: /etc/passwd\n')).key).to.equal('dependencies[0].file');
    });
    it('refuses malformed default_versions and deprecation dates', () => {
      expect(refusal('default_versions:\n- name: a\n').key).to.equal('default_versions[0].version');
      expect(refusal('default_versions:\n- just-a-string\n').key).to.equal('default_versions[0]');
      expect(refusal('default_versions: {name: a}\n').key).to.equal('default_versions');
      expect(refusal('dependency_deprecation_dates:\n- {name: a, version_line: 1.x}\n').key).to.equal('dependency_deprecation_dates[0].date');
    });
    it('refuses wrong shapes', () => {
      expect(refusal('- a\n- b\n').message).to.equal('manifest.yml: must be a YAML mapping at the top level');
      expect(refusal('language: [a]\n').key).to.equal('language');
      expect(refusal(dep('  cf_stacks: cflinuxfs4\n').replace('  cf_stacks: [cflinuxfs4]\n', '')).key).to.equal('dependencies[0].cf_stacks');
      expect(refusal('include_files: [a, [b]]\n').key).to.equal('include_files[1]');
    });
    it('refuses duplicate keys, naming the key', () => {
      const e = refusal(`language: a\n${dep('  version: 2.0.0\n')}`);
      expect(e.key).to.equal('dependencies[0].version');
      expect(e.message).to.contain('duplicate key "version"');
      expect(refusal('language: a\nlanguage: b\n').key).to.equal('language');
    });
    it('refuses an alias bomb', () => {
      const bomb = [
        'a: &a [x, x, x, x, x, x, x, x, x]',
        'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
        'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
        'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
        'f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]',
      ].join('\n');
      expect(refusal(bomb).message).to.contain('too many YAML aliases');
    });
    it('refuses invalid YAML and multiple documents', () => {
      expect(refusal('language: [unclosed\n').message).to.match(/^manifest\.yml: invalid YAML at line \d+, column \d+: /);
      expect(refusal('language: a\n---\nlanguage: b\n').message).to.contain('invalid YAML');
    });
    it('says on which line and column the YAML is broken', () => {
      expect(refusal('language: x\ndependencies:\n- name: a\n   version: 1\n').message).to.equal(
        'manifest.yml: invalid YAML at line 3, column 9: Nested mappings are not allowed in compact mappings',
      );
      expect(refusal('language: x\ninclude_files: [a, b\n').message).to.match(/^manifest\.yml: invalid YAML at line 3, column 1: /);
      expect(refusal('language: x\nstack: "open\n').message).to.match(/^manifest\.yml: invalid YAML at line 3, column 1: Missing closing "quote/);
    });
    it('refuses text over the size limit', () => {
      expect(() => parseManifest(`language: x\npad: "${'x'.repeat(2048)}"\n`, 'm.yml', { maxBytes: 1024 })).to.throw(
        ManifestError,
        /^m\.yml: is \d+ bytes, over the 1 KiB limit for a manifest$/,
      );
      expect(() => parseManifest('x'.repeat(10 * 1024 * 1024 + 1), 'm.yml')).to.throw(ManifestError, 'over the 10 MiB limit');
    });
  });
});

describe('loadManifest', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'manifest-load-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads <dir>/manifest.yml and names it in the manifest', async () => {
    await writeFile(join(dir, 'manifest.yml'), 'language: x\n');
    const m = await loadManifest(dir);
    expect(m.language).to.equal('x');
    expect(m.file).to.equal(join(dir, 'manifest.yml'));
  });

  context('failure cases', () => {
    it('names the file when it is missing', async () => {
      try {
        await loadManifest(dir);
        expect.fail('should throw');
      } catch (e) {
        expect(e).to.be.instanceOf(ManifestError);
        expect((e as ManifestError).file).to.equal(join(dir, 'manifest.yml'));
        expect((e as ManifestError).message).to.contain('not found');
      }
    });
    it('names the file in validation errors', async () => {
      await writeFile(join(dir, 'manifest.yml'), dep().replace(SHA, 'nope'));
      try {
        await loadManifest(dir);
        expect.fail('should throw');
      } catch (e) {
        expect((e as ManifestError).message).to.equal(`${join(dir, 'manifest.yml')}: dependencies[0].sha256: not a sha256 (expected 64 hexadecimal characters)`);
      }
    });
    it('refuses a file over the size limit before reading it', async () => {
      await writeFile(join(dir, 'manifest.yml'), `language: x\npad: "${'x'.repeat(11 * 1024 * 1024)}"\n`);
      try {
        await loadManifest(dir);
        expect.fail('should throw');
      } catch (e) {
        expect((e as ManifestError).message).to.match(/is \d+ bytes, over the 10 MiB limit for a manifest$/);
      }
    });
    it('honours a smaller limit', async () => {
      await writeFile(join(dir, 'manifest.yml'), `language: x\npad: "${'x'.repeat(4096)}"\n`);
      try {
        await loadManifest(dir, { maxBytes: 1024 });
        expect.fail('should throw');
      } catch (e) {
        expect((e as ManifestError).message).to.contain('over the 1 KiB limit');
      }
    });
    it('refuses a directory named manifest.yml', async () => {
      await mkdir(join(dir, 'manifest.yml'));
      try {
        await loadManifest(dir);
        expect.fail('should throw');
      } catch (e) {
        expect((e as ManifestError).message).to.contain('is not a regular file');
      }
    });
  });
  describe('misspelled top-level keys', () => {
    it('warns, with a "did you mean", for a key one slip away from a known one', () => {
      const m = parseManifest(`language: x\nsidecar: []\ndependancies: []\nLanguage: y\ndefault-versions: []\nstacks: cflinuxfs4\n${dep()}`, 'manifest.yml');
      expect(m.warnings).to.deep.equal([
        'manifest.yml: unknown top-level key "sidecar" is ignored; did you mean "sidecars"?',
        'manifest.yml: unknown top-level key "dependancies" is ignored; did you mean "dependencies"?',
        'manifest.yml: unknown top-level key "Language" is ignored; did you mean "language"?',
        'manifest.yml: unknown top-level key "default-versions" is ignored; did you mean "default_versions"?',
        'manifest.yml: unknown top-level key "stacks" is ignored; did you mean "stack"?',
      ]);
      expect(m.dependencies).to.have.length(1);
    });
    it('says nothing for known keys, nor for keys unlike any known one (a buildpack\'s own)', () => {
      const m = parseManifest(`language: x\nstack: cflinuxfs4\nurl_to_dependency_map: []\npackaging_profiles: {}\nmy_team_notes: hi\nx: y\n${dep()}`, 'manifest.yml');
      expect(m).to.not.have.property('warnings');
    });
    it('gives no warning for any corpus manifest', () => {
      for (const f of readdirSync(join(COMPAT_DIR, 'manifests')).filter((n) => !APP_MANIFESTS.includes(n) && !(n in REFUSED) && /\.ya?ml$/.test(n))) {
        expect(parseManifest(corpusText(`manifests/${f}`), f).warnings, f).to.equal(undefined);
      }
    });
  });
});
