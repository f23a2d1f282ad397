import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { DepsDirWriter } from '../../src/depsdir/writer.js';
import { readLaunchYml, renderLaunchYml } from '../../src/launch/launch-yml.js';
import { compatPath } from '../helpers/shared.js';

describe('DepsDirWriter', () => {
  let depsDir: string;
  let writer: DepsDirWriter;

  beforeEach(async () => {
    depsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'deps-'));
    writer = new DepsDirWriter(depsDir, '03');
  });
  afterEach(() => fs.rm(depsDir, { recursive: true, force: true }));

  async function listAll(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
      out.push(path.relative(dir, path.join(e.parentPath ?? (e as any).path, e.name)));
    }
    return out.sort();
  }

  describe('#writeFile with names as long as the file system allows', () => {
    it('writes a 255-byte file name and a 255-byte directory name (the temp names stay within NAME_MAX)', async () => {
      const long = 's'.repeat(255);
      await writer.writeFile(`sidecars/${long}/run`, 'run');
      await writer.writeFile(`profile.d/${long}`, 'script', 0o755);
      await writer.linkBin(long, `sidecars/${long}/run`);
      expect(await fs.readFile(path.join(depsDir, '03', 'profile.d', long), 'utf8')).to.equal('script');
      expect(await fs.readFile(path.join(depsDir, '03', 'bin', long), 'utf8')).to.equal('run');
      expect((await listAll(depsDir)).filter((p) => p.endsWith('.tmp'))).to.deep.equal([]);
    });
  });

  describe('#writeConfig', () => {
    it('writes name, version and an empty config object like libbuildpack', async () => {
      await writer.writeConfig({ name: 'config-server', version: '1.0.0' });
      const doc = parse(await fs.readFile(path.join(depsDir, '03', 'config.yml'), 'utf8'));
      expect(doc).to.deep.equal({ name: 'config-server', version: '1.0.0', config: {} });
    });
  });

  describe('#writeLaunch', () => {
    it('writes integer memory and sidecar_for under platforms.cloudfoundry', async () => {
      await writer.writeLaunch([{ type: 'config-server', command: 'x', memory: 64, sidecarFor: ['web'] }]);
      const doc = parse(await fs.readFile(path.join(depsDir, '03', 'launch.yml'), 'utf8'));
      expect(doc).to.deep.equal({
        processes: [{ type: 'config-server', command: 'x', limits: { memory: 64 }, platforms: { cloudfoundry: { sidecar_for: ['web'] } } }],
      });
    });
  });

  describe('#writeProfileD / #writeEnv / #linkBin', () => {
    it('writes profile.d scripts 0755, env files and relative bin links, all inside <deps>/<idx>', async () => {
      await writer.writeProfileD('a.sh', 'export A=1\n');
      await writer.writeEnv('A', 'value');
      await writer.writeFile('tool/bin/tool', '#!/bin/sh\n', 0o755);
      await writer.linkBin('tool', 'tool/bin/tool');
      const st = await fs.stat(path.join(depsDir, '03', 'profile.d', 'a.sh'));
      expect(st.mode & 0o777).to.equal(0o755);
      expect(await fs.readFile(path.join(depsDir, '03', 'env', 'A'), 'utf8')).to.equal('value');
      expect(await fs.readlink(path.join(depsDir, '03', 'bin', 'tool'))).to.equal('../tool/bin/tool');
      expect(await listAll(depsDir)).to.deep.equal(
        ['03', '03/bin', '03/bin/tool', '03/env', '03/env/A', '03/profile.d', '03/profile.d/a.sh', '03/tool', '03/tool/bin', '03/tool/bin/tool'].sort(),
      );
    });

    it('leaves no temp file behind', async () => {
      await writer.writeConfig({ name: 'n', version: '1' });
      await writer.writeConfig({ name: 'n', version: '2' });
      expect(await listAll(depsDir)).to.deep.equal(['03', '03/config.yml']);
    });
  });

  context('failure cases', () => {
    it('refuses paths outside the deps dir', async () => {
      expect(() => writer.resolve('../other')).to.throw(/outside/);
      expect(() => writer.resolve('/etc/passwd')).to.throw(/outside/);
    });
    it('refuses env and profile.d names that are not plain file names', async () => {
      let err: unknown;
      await writer.writeEnv('../../x', 'v').catch((e) => (err = e));
      expect(String(err)).to.match(/plain file name/);
      err = undefined;
      await writer.writeProfileD('a/b.sh', '').catch((e) => (err = e));
      expect(String(err)).to.match(/plain file name/);
    });
  });
});

describe('launch.yml', () => {
  describe('#renderLaunchYml / #readLaunchYml', () => {
    it('round-trips processes and sidecars', () => {
      const processes = [
        { type: 'config-server', command: '"$DEPS_DIR"/0/cs/bin/cs', memory: 64, sidecarFor: ['web', 'worker'] },
        { type: 'worker', command: 'run-worker' },
      ];
      expect(readLaunchYml(renderLaunchYml(processes))).to.deep.equal(processes);
    });
    it('reads the example sidecar buildpack launch.yml of the compat corpus', async () => {
      const text = await fs.readFile(compatPath('manifests', 'example-sidecar-launch.yml'), 'utf8');
      const procs = readLaunchYml(text);
      expect(procs).to.have.length.greaterThan(0);
      expect(procs.every((p) => p.sidecarFor && p.sidecarFor.length > 0)).to.equal(true);
    });
  });
  context('failure cases', () => {
    it('refuses a non-integer memory ("64M" would fail staging)', () => {
      expect(() => renderLaunchYml([{ type: 's', command: 'c', memory: 64.5 }])).to.throw(/positive integer/);
    });
    it('reads an entry without a command as the builder does (empty: Cloud Controller refuses it later)', () => {
      expect(readLaunchYml('processes:\n- type: x\n')).to.deep.equal([{ type: 'x', command: '' }]);
    });
    it('refuses what the builder refuses, naming the line', () => {
      expect(() => readLaunchYml('processes:\n- type: x\n  command: [a]\n')).to.throw('line 3: cannot unmarshal !!seq into string');
    });
  });
});
