// The staging runtime a buildpack carries for bin/supply: the table dist/runtime.tsv (written by
// the build, the packager and init from what the TypeScript parser reads, so the shim parses no
// YAML) and, in cached zips, the runtime slimmed to its bare bin/node.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { HttpFetcher } from '../../src/deps/fetch.js';
import { ManifestError, PackagerError } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/parse.js';
import { cachedDependencyPath } from '../../src/packager/naming.js';
import { packageBuildpack, type PackageOptions } from '../../src/packager/package.js';
import { parseRuntimeTable, renderRuntimeTable, runtimeRows, runtimeTableFor } from '../../src/packager/runtime-table.js';
import { notRunnableHere } from '../../src/packager/slim-runtime.js';
import { tgzBuffer } from '../helpers/archives.js';
import { nodeRuntimeArchive } from '../helpers/node-runtime.js';
import type { PackageEvent } from '../../src/packager/events.js';
import { expectThrow } from '../helpers/assert.js';
import { serve, TestServer } from '../helpers/http-server.js';
import { cleanup, readZip, tmpDir, writeFiles, zipinfoModes } from './helpers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const rows = (text: string) => runtimeRows(parseManifest(text, 'manifest.yml')).map((r) => [r.stack, r.version, r.uri, r.sha256]);

describe('staging runtime table (dist/runtime.tsv)', () => {
  context('rows: what supply would choose, per stack', () => {
    it('one row per cf_stacks stack and a * row, the default version winning', () => {
      const m = `default_versions:\n- name: node\n  version: 22.1.x\ndependencies:\n- name: node\n  version: 22.1.0\n  uri: http://h/a.tgz\n  sha256: ${A}\n  cf_stacks: [cflinuxfs3, cflinuxfs4]\n- name: node\n  version: 22.1.3\n  uri: http://h/b.tgz\n  sha256: ${B}\n  cf_stacks: [cflinuxfs4]\n- name: node\n  version: 24.0.0\n  uri: http://h/c.tgz\n  sha256: ${B}\n  cf_stacks: [cflinuxfs4]\n`;
      expect(rows(m)).to.deep.equal([
        ['cflinuxfs3', '22.1.0', 'http://h/a.tgz', A],
        ['cflinuxfs4', '22.1.3', 'http://h/b.tgz', B],
        ['*', '22.1.3', 'http://h/b.tgz', B],
      ]);
    });

    it('without a default version, the highest version of the stack', () => {
      const m = `dependencies:\n- {name: node, version: 20.0.0, uri: 'http://h/a.tgz', sha256: ${A}, cf_stacks: [s1]}\n- {name: node, version: 22.0.0, uri: 'http://h/b.tgz', sha256: ${B}, cf_stacks: [s1]}\n`;
      expect(rows(m)).to.deep.equal([
        ['s1', '22.0.0', 'http://h/b.tgz', B],
        ['*', '22.0.0', 'http://h/b.tgz', B],
      ]);
    });

    it('reads what the parser reads: CRLF, flow-style entries, quotes, comments, anchors', () => {
      const m = [
        'language: x # comment',
        'default_versions: [{name: x, version: "1.x"}]',
        'dependencies:',
        '  - name: "node"',
        '    cf_stacks: &stacks ["cflinuxfs4"]',
        `    version: '22.1.0'`,
        `    uri: "http://h/a.tgz?x=1#y"`,
        `    sha256: "${A}"`,
        `  - {name: x, version: 1.0.0, uri: 'http://h/x.tgz', sha256: ${B}, cf_stacks: *stacks}`,
        '',
      ].join('\r\n');
      expect(rows(m)).to.deep.equal([
        ['cflinuxfs4', '22.1.0', 'http://h/a.tgz?x=1#y', A],
        ['*', '22.1.0', 'http://h/a.tgz?x=1#y', A],
      ]);
    });

    it('a packaged manifest: its top-level stack for every entry', () => {
      expect(rows(`stack: cflinuxfs4\ndependencies:\n- name: node\n  version: 22.1.0\n  uri: http://h/a.tgz\n  sha256: ${A}\n`)).to.deep.equal([
        ['cflinuxfs4', '22.1.0', 'http://h/a.tgz', A],
        ['*', '22.1.0', 'http://h/a.tgz', A],
      ]);
    });

    it('no node entry: no rows', () => {
      expect(rows(`dependencies:\n- {name: agent, version: 1.0.0, uri: 'http://h/a.tgz', sha256: ${A}, cf_stacks: [s1]}\n`)).to.deep.equal([]);
    });
  });

  context('failure cases', () => {
    it('refuses a runtime without sha256, naming the file and key', () => {
      const err = expectThrow(() => runtimeRows(parseManifest('dependencies:\n- {name: node, version: 22.1.0, uri: "http://h/a.tgz", cf_stacks: [s1]}\n', '/bp/manifest.yml')), ManifestError);
      expect(err.message).to.equal('/bp/manifest.yml: dependencies[0].sha256: missing: the staging runtime node 22.1.0 cannot be verified');
    });

    it('refuses a field the tab-separated format cannot carry', () => {
      const err = expectThrow(() => runtimeRows(parseManifest(`dependencies:\n- {name: node, version: "22.1.0", uri: "http://h/a\\tb.tgz", sha256: ${A}, cf_stacks: [s1]}\n`, '/bp/manifest.yml')), ManifestError);
      expect(err.message).to.match(/^\/bp\/manifest\.yml: dependencies\[0\]\.uri: holds a control character/);
    });
  });

  it("carries the head a node entry records (bin_node_head_bytes, bin_node_head_sha256) to its rows and back", () => {
    const rows = runtimeRows(parseManifest(`dependencies:\n- {name: node, version: 22.1.0, uri: "http://h/a.tgz", sha256: ${A}, cf_stacks: [s1], bin_node_head_bytes: 4096, bin_node_head_sha256: ${B}}\n`, '/bp/manifest.yml'));
    expect(rows.map((r) => [r.headBytes, r.headSha256])).to.deep.equal([[4096, B], [4096, B]]);
    const text = renderRuntimeTable(rows, 'm', 'test');
    expect(text).to.contain(`\t-\t-\t-\t4096\t${B}\n`);
    expect(parseRuntimeTable(text).rows[0]).to.include({ headBytes: 4096, headSha256: B });
  });

  for (const [what, keys, key] of [
    ['a size that is not a whole number', `bin_node_head_bytes: 12.5, bin_node_head_sha256: ${B}`, 'bin_node_head_bytes'],
    ['a sha256 that is not one', 'bin_node_head_bytes: 4096, bin_node_head_sha256: xyz', 'bin_node_head_sha256'],
    ['a size without its sha256', 'bin_node_head_bytes: 4096', 'bin_node_head_sha256'],
  ] as const) {
    it(`refuses a head record with ${what}, naming the file and key`, () => {
      const err = expectThrow(() => runtimeRows(parseManifest(`dependencies:\n- {name: node, version: 22.1.0, uri: "http://h/a.tgz", sha256: ${A}, cf_stacks: [s1], ${keys}}\n`, '/bp/manifest.yml')), ManifestError);
      expect(err.message).to.match(new RegExp(`^/bp/manifest\\.yml: dependencies\\[0\\]\\.${key}: must be`));
    });
  }

  it('renders and parses back, recording the manifest it was made from', () => {
    const text = renderRuntimeTable([{ stack: 's1', version: '1', uri: 'http://h/a', sha256: A, file: 'dependencies/x/bin/node', fileSha256: B, fileBytes: 4117 }, { stack: '*', version: '1', uri: 'http://h/a', sha256: A }], 'manifest text', 'test');
    expect(text.split('\n').filter((l) => !l.startsWith('#'))).to.deep.equal([`s1\t1\thttp://h/a\t${A}\tdependencies/x/bin/node\t${B}\t4117\t-\t-`, `*\t1\thttp://h/a\t${A}\t-\t-\t-\t-\t-`, '']);
    const back = parseRuntimeTable(text);
    expect(back.manifestSha256).to.equal(sha('manifest text'));
    expect(back.rows[0]).to.deep.equal({ stack: 's1', version: '1', uri: 'http://h/a', sha256: A, file: 'dependencies/x/bin/node', fileSha256: B, fileBytes: 4117 });
    // a table written before sizes were recorded (six columns) parses without one
    const old = text.replace(/\t4117\t-\t-$/m, '');
    expect(parseRuntimeTable(old).rows[0]).to.not.have.property('fileBytes');
  });

  context("the repository's own table", () => {
    it('is what manifest.yml gives (npm run build -- --check fails otherwise)', async () => {
      const manifest = await fs.readFile(path.join(repo, 'manifest.yml'), 'utf8');
      const expected = runtimeTableFor(manifest, path.join(repo, 'manifest.yml'), 'scripts/build.mjs', parseManifest);
      const dir = await tmpDir('sbp-build-check-');
      // a copy of the build script's inputs with a stale table: --check must fail and name it
      await fs.cp(path.join(repo, 'dist'), path.join(dir, 'dist'), { recursive: true });
      await fs.writeFile(path.join(dir, 'dist', 'runtime.tsv'), expected.replace('22.23.1', '22.0.0'));
      for (const f of ['manifest.yml', 'scripts', 'src', 'package.json', 'tsconfig.json']) await fs.cp(path.join(repo, f), path.join(dir, f), { recursive: true });
      await fs.symlink(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
      const stale = spawnSync(process.execPath, ['scripts/build.mjs', '--check'], { cwd: dir, encoding: 'utf8' });
      expect(stale.status, stale.stderr).to.equal(1);
      expect(stale.stderr).to.contain('stale table: dist/runtime.tsv differs from what manifest.yml gives');
      const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: dir, encoding: 'utf8' });
      expect(built.status, built.stderr).to.equal(0);
      expect(await fs.readFile(path.join(dir, 'dist', 'runtime.tsv'), 'utf8')).to.equal(expected);
      await cleanup();
    });
  });
});

describe('packageBuildpack: the staging runtime in zips', () => {
  let server: TestServer;
  let cacheDir: string;
  const NODE_BIN = Buffer.from(`#!/bin/sh\necho node\n${'x'.repeat(4096)}\n`);
  let nodeTgz: Buffer;
  let agentTgz: Buffer;
  const fetcherFactory: PackageOptions['createFetcher'] = (hooks) => new HttpFetcher({ ...hooks, sleep: async () => undefined, attempts: 1 });

  beforeEach(async () => {
    server = await TestServer.start();
    nodeTgz = await tgzBuffer({ 'node-v22.1.0-linux-x64/bin/node': NODE_BIN, 'node-v22.1.0-linux-x64/bin/npm': '#!/bin/sh\n', 'node-v22.1.0-linux-x64/include/node/node.h': '/* */\n' });
    agentTgz = await tgzBuffer({ 'bin/agent': '#!/bin/sh\n' });
    server.route('/node.tgz', serve.bytes(nodeTgz));
    server.route('/agent.tgz', serve.bytes(agentTgz));
    server.route('/no-node.tgz', serve.bytes(agentTgz));
    cacheDir = await tmpDir('sbp-cache-');
  });
  afterEach(async () => {
    await server.close();
    await cleanup();
  });

  async function buildpack(nodePath = '/node.tgz', nodeSha = sha(nodeTgz), sidecarDependency = 'agent'): Promise<string> {
    const dir = await tmpDir('sbp-runtime-');
    await writeFiles(dir, {
      'manifest.yml': `language: x\ndefault_versions:\n- {name: node, version: 22.x}\n- {name: agent, version: 1.x}\ndependencies:\n- {name: agent, version: 1.0.0, uri: '${server.url('/agent.tgz')}', sha256: ${sha(agentTgz)}, cf_stacks: [cflinuxfs4]}\n- {name: node, version: 22.1.0, uri: '${server.url(nodePath)}', sha256: ${nodeSha}, cf_stacks: [cflinuxfs4]}\ninclude_files: [VERSION, bin/supply]\nsidecars:\n- {name: agent, dependency: ${sidecarDependency}, command: bin/${sidecarDependency === 'node' ? 'node' : 'agent'}}\n`,
      VERSION: '1.0.0',
      'bin/supply': '#!/bin/sh\n',
    });
    return dir;
  }
  const pack = (dir: string, cached: boolean) => packageBuildpack({ dir, stack: 'cflinuxfs4', cached, cacheDir, createFetcher: fetcherFactory });

  it('an uncached zip: the table names the download, no runtime file', async () => {
    const r = await pack(await buildpack(), false);
    const zip = await readZip(r.zipPath);
    const table = parseRuntimeTable(zip.get('dist/runtime.tsv')!.data.toString());
    expect(table.manifestSha256).to.equal(sha(zip.get('manifest.yml')!.data));
    expect(table.rows).to.deep.equal([
      { stack: 'cflinuxfs4', version: '22.1.0', uri: server.url('/node.tgz'), sha256: sha(nodeTgz) },
      { stack: '*', version: '22.1.0', uri: server.url('/node.tgz'), sha256: sha(nodeTgz) },
    ]);
  });

  it('a cached zip: only the bare bin/node (executable), its sha256 in the table, no archive, no file: for node', async () => {
    const r = await pack(await buildpack(), true);
    const zip = await readZip(r.zipPath);
    const binPath = `${path.posix.dirname(cachedDependencyPath(server.url('/node.tgz')))}/bin/node`;
    expect([...zip.keys()].filter((k) => k.startsWith('dependencies/')).sort()).to.deep.equal([cachedDependencyPath(server.url('/agent.tgz')), binPath].sort());
    expect(zip.get(binPath)!.data).to.deep.equal(NODE_BIN);
    expect(zipinfoModes(r.zipPath).get(binPath)).to.equal('-rwxr-xr-x');
    const [row] = parseRuntimeTable(zip.get('dist/runtime.tsv')!.data.toString()).rows;
    expect(row).to.deep.equal({ stack: 'cflinuxfs4', version: '22.1.0', uri: server.url('/node.tgz'), sha256: sha(nodeTgz), file: binPath, fileSha256: sha(NODE_BIN), fileBytes: NODE_BIN.length });
    const deps = YAML.parse(zip.get('manifest.yml')!.data.toString()).dependencies as { name: string; file?: string }[];
    expect(deps.map((d) => [d.name, d.file])).to.deep.equal([
      ['agent', cachedDependencyPath(server.url('/agent.tgz'))],
      ['node', undefined],
    ]);
    expect(r.dependencies.find((d) => d.name === 'node')!.file).to.equal(binPath);
  });

  it('a sidecar that installs node itself: the whole archive stays, with its file:', async () => {
    const r = await pack(await buildpack('/node.tgz', sha(nodeTgz), 'node'), true);
    const zip = await readZip(r.zipPath);
    expect(zip.get(cachedDependencyPath(server.url('/node.tgz')))!.data).to.deep.equal(nodeTgz);
  });

  context("a toolkit buildpack (dist/run.cjs beside the bundle): the runtime's code cache", () => {
    /** The toolkit's shim, loader and bundle, with `node` served from `nodePath`. */
    async function toolkitBuildpack(nodePath: string, nodeSha: string): Promise<string> {
      const dir = await buildpack(nodePath, nodeSha);
      const manifest = (await fs.readFile(path.join(dir, 'manifest.yml'), 'utf8')).replace('include_files: [VERSION, bin/supply]', 'include_files: [VERSION, bin/supply, dist/run.cjs, dist/supply.cjs, dist/supply-lazy.cjs]');
      await fs.writeFile(path.join(dir, 'manifest.yml'), manifest);
      await fs.mkdir(path.join(dir, 'dist'));
      for (const f of ['bin/supply', 'dist/run.cjs', 'dist/supply.cjs', 'dist/supply-lazy.cjs']) await fs.copyFile(path.join(repo, f), path.join(dir, f));
      return dir;
    }

    it('records it by running the carried binary, for exactly this bundle and node', async function () {
      this.timeout(120_000);
      const real = await nodeRuntimeArchive();
      server.route('/real-node.tgz', serve.bytes(await fs.readFile(real.file)));
      const events: PackageEvent[] = [];
      const dir = await toolkitBuildpack('/real-node.tgz', real.sha256);
      const r = await packageBuildpack({ dir, stack: 'cflinuxfs4', cached: true, cacheDir, createFetcher: fetcherFactory, onEvent: (e) => events.push(e) });
      const zip = await readZip(r.zipPath);
      const cachePath = `${path.posix.dirname(cachedDependencyPath(server.url('/real-node.tgz')))}/bin/node.code-cache`;
      expect(events.filter((e) => e.type === 'code-cache')).to.deep.equal([{ type: 'code-cache', file: cachePath, recorded: true }]);
      const data = zip.get(cachePath)!.data;
      const header = JSON.parse(data.subarray(0, data.indexOf(0x0a)).toString());
      expect(header).to.deep.include({ format: 1, bundle_sha256: sha(zip.get('dist/supply.cjs')!.data), node: process.version, v8: process.versions.v8 });
      expect(data.length, 'V8 data after the header').to.be.greaterThan(10_000);
    });

    it('records none for a runtime that cannot run the bundle, and says why', async () => {
      const events: PackageEvent[] = [];
      const dir = await toolkitBuildpack('/node.tgz', sha(nodeTgz));
      const r = await packageBuildpack({ dir, stack: 'cflinuxfs4', cached: true, cacheDir, createFetcher: fetcherFactory, onEvent: (e) => events.push(e) });
      expect([...(await readZip(r.zipPath)).keys()].filter((k) => k.endsWith('.code-cache'))).to.deep.equal([]);
      const [event] = events.filter((e) => e.type === 'code-cache');
      expect(event).to.deep.include({ type: 'code-cache', file: `${path.posix.dirname(cachedDependencyPath(server.url('/node.tgz')))}/bin/node.code-cache`, recorded: false });
      // the fake runtime is a shell script that fails on its filler line
      expect((event as { reason: string }).reason).to.match(/^running it on an empty app failed \(exit status 127: node\)$/);
    });
  });

  context("stripping the carried bin/node of symbols and debug info (binutils' strip)", () => {
    /** A C program built with debug info as a runtime's bin/node: answers --version with `version`. */
    async function nativeRuntime(version: string): Promise<Buffer> {
      const dir = await tmpDir('sbp-native-');
      await fs.writeFile(path.join(dir, 'n.c'), `#include <stdio.h>\n#include <string.h>\nint unused_symbol(int x) { return x * 3; }\nint main(int c, char **v) { if (c > 1 && !strcmp(v[1], "--version")) { ${version}; } return 0; }\n`);
      const cc = spawnSync('gcc', ['-g', '-O0', '-o', path.join(dir, 'node'), path.join(dir, 'n.c')], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).to.equal(0);
      return fs.readFile(path.join(dir, 'node'));
    }
    /** The section names of an ELF binary (binutils' readelf). */
    async function sections(bin: Buffer): Promise<string[]> {
      const f = path.join(await tmpDir('sbp-elf-'), 'bin');
      await fs.writeFile(f, bin);
      const out = spawnSync('readelf', ['-SW', f], { encoding: 'utf8' });
      expect(out.status, out.stderr).to.equal(0);
      return out.stdout.split('\n').flatMap((l) => /\]\s+(\.\S+)/.exec(l)?.[1] ?? []);
    }
    /** Package a cached zip whose runtime archive holds `bin` as bin/node (`pathDir`: PATH while packaging). */
    async function packNative(bin: Buffer, options: Partial<PackageOptions> = {}, pathDir?: string) {
      const tgz = await tgzBuffer({ 'bin/node': bin });
      server.route('/native.tgz', serve.bytes(tgz));
      const events: PackageEvent[] = [];
      const dir = await buildpack('/native.tgz', sha(tgz));
      const saved = process.env.PATH;
      if (pathDir) process.env.PATH = pathDir;
      const r = await packageBuildpack({ dir, stack: 'cflinuxfs4', cached: true, cacheDir, createFetcher: fetcherFactory, onEvent: (e) => events.push(e), ...options }).finally(() => {
        process.env.PATH = saved;
      });
      const zip = await readZip(r.zipPath);
      const binPath = `${path.posix.dirname(cachedDependencyPath(server.url('/native.tgz')))}/bin/node`;
      const [row] = parseRuntimeTable(zip.get('dist/runtime.tsv')!.data.toString()).rows;
      return { carried: zip.get(binPath)!.data, row, binPath, event: events.find((e) => e.type === 'runtime-binary'), mode: zipinfoModes(r.zipPath).get(binPath) };
    }

    it('carries it stripped when the stripped copy answers --version as the original, the table naming the stripped file', async () => {
      const original = await nativeRuntime('puts("v9.9.9")');
      const { carried, row, binPath, event, mode } = await packNative(original);
      expect(carried.length).to.be.lessThan(original.length);
      expect(await sections(original)).to.include.members(['.symtab', '.debug_info', '.text']);
      const left = await sections(carried);
      expect(left).to.include('.text');
      expect(left.filter((n) => n === '.symtab' || n.startsWith('.debug'))).to.deep.equal([]);
      expect(row).to.deep.include({ file: binPath, fileSha256: sha(carried), fileBytes: carried.length });
      expect(mode).to.equal('-rwxr-xr-x');
      expect(event).to.deep.equal({ type: 'runtime-binary', file: binPath, bytes: carried.length, archivedBytes: original.length });
      const f = path.join(await tmpDir('sbp-run-'), 'node');
      await fs.writeFile(f, carried, { mode: 0o755 });
      expect(spawnSync(f, ['--version'], { encoding: 'utf8' }).stdout).to.equal('v9.9.9\n');
    });

    it('keeps it as archived when the stripped copy answers otherwise, and says so', async () => {
      // its --version prints its own size, which strip changes
      const original = await nativeRuntime('FILE *f = fopen("/proc/self/exe", "rb"); fseek(f, 0, SEEK_END); printf("%ld\\n", ftell(f))');
      const { carried, row, event } = await packNative(original);
      expect(carried).to.deep.equal(original);
      expect(row).to.deep.include({ fileSha256: sha(original), fileBytes: original.length });
      expect((event as { unstripped: string }).unstripped).to.match(new RegExp(`^the stripped copy does not answer --version as the original does \\("\\d+" against "${original.length}"\\)$`));
    });

    it('--keep-runtime-symbols (keepRuntimeSymbols) carries it as archived', async () => {
      const original = await nativeRuntime('puts("v9.9.9")');
      const { carried, event } = await packNative(original, { keepRuntimeSymbols: true });
      expect(carried).to.deep.equal(original);
      expect(event).to.deep.include({ bytes: original.length, archivedBytes: original.length, unstripped: 'asked to keep its symbols' });
    });

    it('without strip on PATH, carries it as archived and says why', async () => {
      const original = await nativeRuntime('puts("v9.9.9")');
      const { carried, event } = await packNative(original, {}, await tmpDir('sbp-empty-path-'));
      expect(carried).to.deep.equal(original);
      expect(event).to.deep.include({ unstripped: 'there is no strip (binutils) on PATH' });
    });

    it('a binary that is not an ELF binary of this CPU is carried as archived', () => {
      const elf = Buffer.alloc(20);
      elf.writeUInt32BE(0x7f454c46, 0);
      elf[4] = 2;
      elf[5] = 1;
      const machine = process.arch === 'arm64' ? 62 : 183;
      elf.writeUInt16LE(machine, 18);
      expect(notRunnableHere(Buffer.from('#!/bin/sh\necho node\n'))).to.equal('it is not an ELF binary');
      expect(notRunnableHere(elf)).to.match(new RegExp(`^it is built for another CPU or OS \\(ELF machine ${machine}\\)`));
    });
  });

  it('refuses a runtime archive without bin/node, naming it, and leaves no zip', async () => {
    const dir = await buildpack('/no-node.tgz', sha(agentTgz));
    const err = await pack(dir, true).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(PackagerError);
    expect((err as Error).message).to.equal(`node 22.1.0 (${server.url('/no-node.tgz')}): the staging runtime archive holds no bin/node (nor <folder>/bin/node)`);
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.zip'))).to.deep.equal([]);
  });
});
