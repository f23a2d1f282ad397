import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { HttpFetcher } from '../../src/deps/fetch.js';
import { PackagerError } from '../../src/errors.js';
import { packageBuildpack } from '../../src/packager/package.js';
import { cleanup, makeFixture, packagerCases, readZip, tmpDir } from './helpers.js';

const VERSION = '1.0.0.20260101000000';

/** The with_profiles fixture, its file://PLACEHOLDER_* uris pointed at its own files (as libbuildpack's test does). */
async function fixture(extra?: Record<string, { description: string; exclude: string[] }>): Promise<string> {
  const dir = await makeFixture('with_profiles', (m) => {
    let text = m;
    if (extra) {
      const lines = Object.entries(extra).map(([n, p]) => `  ${n}:\n    description: ${p.description}\n    exclude:\n${p.exclude.map((e) => `    - ${e}`).join('\n')}`);
      text += `${lines.join('\n')}\n`;
    }
    return text;
  });
  // now that the directory exists, point the uris at its files
  const file = path.join(dir, 'manifest.yml');
  const text = (await fs.readFile(file, 'utf8'))
    .replace('file://PLACEHOLDER_CORE', `file://${dir}/core.txt`)
    .replace('file://PLACEHOLDER_AGENT', `file://${dir}/agent.txt`)
    .replace('file://PLACEHOLDER_PROFILER', `file://${dir}/profiler.txt`);
  await fs.writeFile(file, text);
  return dir;
}

describe('packaging profiles', () => {
  afterEach(cleanup);

  it('the fixture digests are the sha256 of its files', async () => {
    const dir = await fixture();
    const m = YAML.parse(await fs.readFile(path.join(dir, 'manifest.yml'), 'utf8'));
    for (const d of m.dependencies) {
      const body = await fs.readFile(new URL(d.uri).pathname);
      expect(createHash('sha256').update(body).digest('hex')).to.equal(d.sha256);
    }
  });

  const cases = packagerCases.cases.filter((c) => c.fixture === 'with_profiles' && (c.call === 'PackageWithOptions' || c.call === 'Package'));
  for (const c of cases) {
    const what = c.error ? `fails with "${c.error}"` : `packages ${c.expectDependencyNames.join(', ')}`;
    context(`${JSON.stringify(c.options ?? {})}, ${c.cached ? 'cached' : 'uncached'} — ${c.source}`, () => {
      it(what, async () => {
        const dir = await fixture(c.setup?.extraProfile);
        const run = packageBuildpack({
          dir,
          stack: c.stack,
          cached: c.cached,
          version: VERSION,
          cacheDir: await tmpDir(),
          createFetcher: (hooks) => new HttpFetcher(hooks),
          ...(c.options ?? {}),
        });
        if (c.error) {
          let caught: unknown;
          await run.catch((e) => (caught = e));
          expect(caught).to.be.instanceOf(PackagerError);
          expect((caught as Error).message).to.include(c.error);
          return;
        }
        const r = await run;
        const zip = await readZip(r.zipPath);
        const names = YAML.parse(zip.get('manifest.yml')!.data.toString()).dependencies.map((d: { name: string }) => d.name);
        expect(names).to.have.members(c.expectDependencyNames);
        if (c.expectZipName) expect(r.fileName).to.equal(c.expectZipName.replace('<version>', VERSION));
        for (const absent of c.expectZipAbsent ?? []) {
          expect([...zip.keys()].filter((k) => k.endsWith(absent.split('/').pop()!))).to.deep.equal([]);
        }
        if (c.cached) expect([...zip.keys()].filter((k) => k.startsWith('dependencies/'))).to.have.length(names.length);
      });
    });
  }
});
