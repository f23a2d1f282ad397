// The local builder with real buildpack scripts (child processes): argv, env, droplet layout,
// staging result, app cache, and the builder's messages and exit statuses.

import { expect } from 'chai';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';
import os from 'node:os';
import { Cell, probeContainers } from '../../src/platform/local/cell.js';
import { LogBook } from '../../src/platform/local/log-book.js';
import { BuilderFailure, stage, type StageOutput } from '../../src/platform/local/stager.js';
import { FINAL_BP, HANDMADE_BP, nodeWebApp, supplyBuildpack, tempDir, writeTree } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
let runs = 0;

/** A staging container cell (Linux CI always has one: the container-mode spec fails otherwise). */
function cell(): Cell | undefined {
  const support = probeContainers();
  return typeof support === 'string' ? undefined : new Cell(support, path.join(root, 'cell'), os.tmpdir());
}

async function stageApp(appFiles: Record<string, string>, buildpacks: string[], opts: { env?: Record<string, string>; appDir?: string } = {}) {
  const log = new LogBook();
  const appDir = opts.appDir ?? (await writeTree(path.join(root, `app-src-${runs}`), appFiles));
  const workDir = path.join(root, `work-${runs++}`);
  const promise = stage({
    app: { name: 'myapp', guid: 'guid-1', memoryMb: 256, uri: 'myapp.localhost' },
    appDir,
    buildpacks,
    appEnv: opts.env ?? {},
    hostEnv: { PATH: process.env.PATH },
    stack: 'cflinuxfs4',
    vcapServices: '{}',
    workDir,
    cacheRoot: path.join(root, 'cache', 'myapp'),
    log,
    cell: cell(),
  });
  return { promise, log, workDir };
}

async function stageOk(appFiles: Record<string, string>, buildpacks: string[], opts = {}): Promise<StageOutput & { log: LogBook }> {
  const { promise, log } = await stageApp(appFiles, buildpacks, opts);
  try {
    return { ...(await promise), log };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${log.text()}`);
  }
}

async function stageFail(appFiles: Record<string, string>, buildpacks: string[]): Promise<{ error: BuilderFailure; log: LogBook }> {
  const { promise, log } = await stageApp(appFiles, buildpacks);
  try {
    await promise;
  } catch (e) {
    if (e instanceof BuilderFailure) return { error: e, log };
    throw e;
  }
  throw new Error('staging succeeded');
}

function zipDir(entries: Array<{ name: string; content: string; mode: number }>, file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const z = new yazl.ZipFile();
    for (const e of entries) z.addBuffer(Buffer.from(e.content), e.name, { mode: e.mode });
    z.outputStream.pipe(createWriteStream(file)).on('close', () => resolve(file)).on('error', reject);
    z.end();
  });
}

describe('stager', () => {
  beforeEach(async () => ({ dir: root, cleanup } = await tempDir()));
  afterEach(async () => cleanup());

  describe('#stage', () => {
    context('when a hand-written supply buildpack declares a sidecar', () => {
      it('produces the builder result and the droplet layout', async () => {
        const out = await stageOk(nodeWebApp(), [HANDMADE_BP, FINAL_BP]);
        expect(out.result.process_types).to.deep.equal({ web: 'node server.js' });
        expect(out.result.sidecars).to.deep.equal([
          { name: 'handmade', process_types: ['web'], command: 'node $DEPS_DIR/0/bin/listener.js', memory: 32 },
        ]);
        expect(out.result.lifecycle_metadata.buildpacks.map((b) => b.name)).to.deep.equal(['handmade-sidecar', 'final-fixture']);
        expect(out.result.lifecycle_metadata.detected_buildpack).to.equal('final-fixture');
        for (const d of ['app/server.js', 'deps/0/bin/listener.js', 'profile.d/0_handmade.sh', 'profile.d/000_multi-supply.sh', 'tmp', 'logs']) {
          await stat(path.join(out.dropletDir, d));
        }
        expect(out.log.text()).to.include('[STG/0] OUT -----> Handmade sidecar buildpack\n');
        expect(out.log.text()).to.include('[STG/0] OUT Exit status 0\n');
      });
    });

    context('when a supply buildpack inspects its argv and env', () => {
      it('gets BUILD CACHE DEPS IDX and the staging env without DEPS_DIR', async () => {
        const bp = await supplyBuildpack(path.join(root, 'spy'), 'printf "%s\\n" "$@" > "$3/$4/args"; env > "$3/$4/env"');
        const out = await stageOk(nodeWebApp(), [bp, FINAL_BP], { env: { GREETING: 'hi' } });
        const args = (await readFile(path.join(out.dropletDir, 'deps/0/args'), 'utf8')).trim().split('\n');
        // the builder's staging paths, not the launch paths (CONTRACT §1)
        expect(args[0]).to.equal('/tmp/app');
        expect(args[1]).to.match(/^\/tmp\/cache\/[0-9a-f]{16}$/);
        expect(args[2]).to.match(/^\/tmp\/contents[0-9a-f]+\/deps$/);
        expect(args[3]).to.equal('0');
        const env = await readFile(path.join(out.dropletDir, 'deps/0/env'), 'utf8');
        expect(env).to.include('CF_STACK=cflinuxfs4\n').and.include('MEMORY_LIMIT=1024m\n').and.include('GREETING=hi\n');
        expect(env).to.include('LANG=en_US.UTF-8\n').and.include('VCAP_SERVICES={}\n');
        expect(env).to.match(/VCAP_APPLICATION=\{.*"application_name":"myapp"/);
        expect(env).not.to.match(/^DEPS_DIR=/m);
      });
    });

    context('when ten or more buildpacks are used', () => {
      it('zero-pads the index to the width of the count', async () => {
        const bps: string[] = [];
        for (let i = 0; i < 10; i++) bps.push(await supplyBuildpack(path.join(root, `bp${i}`), 'echo "idx=$4"'));
        const out = await stageOk(nodeWebApp(), [...bps, FINAL_BP]);
        expect(out.log.text()).to.include('[STG/0] OUT idx=00\n').and.include('[STG/0] OUT idx=09\n');
        await stat(path.join(out.dropletDir, 'deps', '10', 'config.yml'));
      });
    });

    context('when a supply buildpack writes no config.yml, or one that is not YAML', () => {
      it('keeps only its key in the metadata and says nothing, as the builder does', async () => {
        const bare = await supplyBuildpack(path.join(root, 'bare'), 'echo "-----> bare supply"');
        const junk = await supplyBuildpack(path.join(root, 'junk'), 'printf "name: [unclosed\\n" > "$3/$4/config.yml"');
        const out = await stageOk(nodeWebApp(), [bare, junk, FINAL_BP]);
        expect(out.result.lifecycle_metadata.buildpacks.slice(0, 2)).to.deep.equal([
          { key: bare, name: '' },
          { key: junk, name: '' },
        ]);
        expect(out.log.text()).to.include('-----> bare supply').and.not.match(/config\.yml|unmarshal/i);
      });
    });

    context('when the buildpack is a zip whose bin/ sits inside one top-level folder', () => {
      it('extracts it with its modes and runs it', async () => {
        const zip = await zipDir(
          [
            { name: 'mybp-1.0/bin/supply', content: '#!/bin/sh\necho "zipped supply ran"\n', mode: 0o100755 },
            { name: 'mybp-1.0/bin/detect', content: '#!/bin/sh\nexit 1\n', mode: 0o100755 },
          ],
          path.join(root, 'mybp.zip'),
        );
        const out = await stageOk(nodeWebApp(), [zip, FINAL_BP]);
        expect(out.log.text()).to.include('[STG/0] OUT zipped supply ran\n');
        expect(out.result.lifecycle_metadata.buildpacks[0].key).to.equal(zip);
      });
    });

    context('when the app has a .cfignore and a Procfile', () => {
      it('leaves ignored files out and takes the Procfile web command', async () => {
        const out = await stageOk(
          nodeWebApp({ '.cfignore': 'secret.txt\nlogs/\n', 'secret.txt': 'x', 'logs/a.log': 'x', 'keep.txt': 'x', Procfile: 'web: node server.js --procfile\n' }),
          [FINAL_BP],
        );
        await stat(path.join(out.dropletDir, 'app/keep.txt'));
        for (const f of ['secret.txt', 'logs', '.cfignore']) {
          expect(await stat(path.join(out.dropletDir, 'app', f)).then(() => true, () => false), f).to.equal(false);
        }
        expect(out.result.process_types.web).to.equal('node server.js --procfile');
      });
    });

    context('when the same app is staged twice', () => {
      it('keeps the supply buildpack cache', async () => {
        const bp = await supplyBuildpack(path.join(root, 'counter'), 'n=$(cat "$2/n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$2/n"; echo "staging number $n"');
        await stageOk(nodeWebApp(), [bp, FINAL_BP]);
        const second = await stageOk(nodeWebApp(), [bp, FINAL_BP]);
        expect(second.log.text()).to.include('[STG/0] OUT staging number 2\n');
      });
    });

    context('when the app cache is replaced', () => {
      it('removes the replaced cache, and what a push that died left of one', async () => {
        const cacheRoot = path.join(root, 'cache', 'myapp');
        await stageOk(nodeWebApp(), [FINAL_BP]);
        // a platform process that died (its pid is gone) while removing a replaced cache
        const dead = `${cacheRoot}.old-${2 ** 22 + 1}`;
        await writeTree(dead, { 'final/stale': 'x' });
        await stageOk(nodeWebApp(), [FINAL_BP]);
        // this staging's own replaced cache goes after it returned, at the latest by the next one
        await stageOk(nodeWebApp(), [FINAL_BP]);
        const left = (await readdir(path.dirname(cacheRoot))).filter((n) => n.startsWith('myapp.old-') && n !== `myapp.old-${process.pid}`);
        expect(left).to.deep.equal([]);
        expect(await stat(dead).then(() => true, () => false)).to.equal(false);
      });
    });

    context('when staging fails after a buildpack wrote to its cache', () => {
      it('keeps the cache of the last successful staging only', async () => {
        const bp = await supplyBuildpack(path.join(root, 'flaky'), 'echo "$(cat "$2/n" 2>/dev/null)x" > "$2/n"; echo "cache holds $(cat "$2/n")"; [ -z "$FAIL" ]');
        await stageOk(nodeWebApp(), [bp, FINAL_BP]);
        const { promise, log } = await stageApp(nodeWebApp(), [bp, FINAL_BP], { env: { FAIL: '1' } });
        await promise.then(() => expect.fail('staging succeeded'), (e) => expect(e).to.be.instanceOf(BuilderFailure));
        expect(log.text()).to.include('[STG/0] OUT cache holds xx\n');
        const third = await stageOk(nodeWebApp(), [bp, FINAL_BP]);
        expect(third.log.text()).to.include('[STG/0] OUT cache holds xx\n');
      });
    });

    context('when a failed staging wrote into a large cached file in place', () => {
      it('drops the app cache, saying so: its large files are links, and the kept one changed with it', async () => {
        // 1 MiB and more is linked, not copied (cache-copy.ts); `>>` writes into the file
        const bp = await supplyBuildpack(path.join(root, 'big-cache'), '[ -f "$2/big" ] || head -c 1048576 /dev/zero > "$2/big"; [ -z "$FAIL" ] || { echo more >> "$2/big"; exit 1; }; echo "big is $(wc -c < "$2/big")"');
        await stageOk(nodeWebApp(), [bp, FINAL_BP]);
        const { promise, log } = await stageApp(nodeWebApp(), [bp, FINAL_BP], { env: { FAIL: '1' } });
        await promise.then(() => expect.fail('staging succeeded'), (e) => expect(e).to.be.instanceOf(BuilderFailure));
        expect(log.text()).to.match(/\[STG\/0\] ERR local platform: the failed staging wrote into [0-9a-f]{16}\/big of the app cache in place, so the cache is dropped \(Cloud Foundry would keep the one from before\)\n/);
        const third = await stageOk(nodeWebApp(), [bp, FINAL_BP]);
        expect(third.log.text()).to.include('[STG/0] OUT big is 1048576\n');
      });
    });

    context('when the final buildpack is an old-style compile/release buildpack', () => {
      it('warns that it cannot use the supplied dependencies', async () => {
        const old = await writeTree(path.join(root, 'old'), {
          'bin/compile#x': '#!/bin/sh\necho compiled\n',
          'bin/release#x': '#!/bin/sh\necho "default_process_types:\n  web: ./run"\n',
        });
        const out = await stageOk(nodeWebApp(), [HANDMADE_BP, old]);
        expect(out.log.text()).to.include(
          '[STG/0] ERR Warning: the last buildpack is not compatible with multi-buildpack apps and cannot make use of any dependencies supplied by the buildpacks specified before it\n',
        );
        expect(out.result.process_types.web).to.equal('./run');
      });
    });

    context('when a script lacks its execute bit', () => {
      it('prints the builder warning', async () => {
        const bp = await writeTree(path.join(root, 'noexec'), { 'bin/supply': '#!/bin/sh\necho hi\n' });
        const { log } = await stageFail(nodeWebApp(), [bp, FINAL_BP]);
        expect(log.text()).to.include("[STG/0] ERR WARNING: buildpack script '/bin/supply' is not executable\n");
      });
    });
  });

  context('failure cases', () => {
    it('fails a non-final buildpack without bin/supply with exit status 225', async () => {
      const bp = await writeTree(path.join(root, 'nosupply'), { 'bin/detect#x': '#!/bin/sh\nexit 0\n' });
      const { error, log } = await stageFail(nodeWebApp(), [bp, FINAL_BP]);
      expect(error.message).to.equal('Error: one of the buildpacks chosen to supply dependencies does not support multi-buildpack apps');
      expect(error.exitStatus).to.equal(225);
      expect(log.text()).to.include('[STG/0] OUT Exit status 225\n');
    });
    it('fails a buildpack without a bin/ dir', async () => {
      const bp = await writeTree(path.join(root, 'nobin'), { 'README.md': 'x', 'lib/x': 'y' });
      const { error, log } = await stageFail(nodeWebApp(), [bp, FINAL_BP]);
      expect(error.message).to.equal(`Failed to run all supply scripts: malformed buildpack does not contain a /bin dir: ${bp}`);
      expect(log.text()).to.include(`[STG/0] ERR malformed buildpack does not contain a /bin dir: ${bp}\n`);
    });
    it('fails when a supply script exits non-zero', async () => {
      const bp = await supplyBuildpack(path.join(root, 'boom'), 'echo "about to fail" >&2; exit 3');
      const { error, log } = await stageFail(nodeWebApp(), [bp, FINAL_BP]);
      expect(error.message).to.equal('Failed to run all supply scripts: exit status 3');
      expect(error.exitStatus).to.equal(225);
      expect(log.text()).to.include('[STG/0] ERR about to fail\n');
    });
    it('fails when finalize exits non-zero, with status 223', async () => {
      const bad = await writeTree(path.join(root, 'badfinal'), { 'bin/finalize#x': '#!/bin/sh\nexit 1\n', 'bin/release#x': '#!/bin/sh\n' });
      const { error } = await stageFail(nodeWebApp(), [bad]);
      expect(error.message).to.equal('Failed to compile droplet: Failed to run finalize script: exit status 1');
      expect(error.exitStatus).to.equal(223);
    });
    it('fails when a launch.yml memory limit carries a unit', async () => {
      const bp = await supplyBuildpack(
        path.join(root, 'unit'),
        'printf "processes:\\n- type: cs\\n  command: x\\n  limits:\\n    memory: 64M\\n  platforms:\\n    cloudfoundry:\\n      sidecar_for: [web]\\n" > "$3/$4/launch.yml"',
      );
      const { error } = await stageFail(nodeWebApp(), [bp, FINAL_BP]);
      expect(error.message).to.include("cannot unmarshal !!str `64M` into int");
    });
    // issue 13 item 14: the builder's failures on what buildpacks and apps write
    it('fails when a launch.yml is invalid YAML, its processes are not a list, or a command is a list', async () => {
      const cases: Array<[string, string]> = [
        ['processes:\n- type: a\n  command: [unclosed\n', 'yaml: line '],
        ['processes:\n  type: a\n', 'line 2: cannot unmarshal !!map into []process'],
        ['processes:\n- type: a\n  command: [x, y]\n', 'line 3: cannot unmarshal !!seq into string'],
      ];
      for (const [i, [doc, message]] of cases.entries()) {
        const bp = await supplyBuildpack(path.join(root, `badlaunch-${i}`), `cat > "$3/$4/launch.yml" <<'EOF'\n${doc}EOF`);
        const { error, log } = await stageFail(nodeWebApp(), [bp, FINAL_BP]);
        expect(error.message, doc).to.include(message);
        expect(log.text()).to.include(`[STG/0] ERR ${error.message.split('\n')[0]}`);
      }
    });
    it('fails when the Procfile is not a map of process types', async () => {
      const { error } = await stageFail(nodeWebApp({ Procfile: '- web: node server.js\n' }), [FINAL_BP]);
      expect(error.message).to.equal('Failed to read command from Procfile: invalid YAML');
    });
    it('fails without any buildpack', async () => {
      const { error } = await stageFail(nodeWebApp(), []);
      expect(error.exitStatus).to.equal(222);
    });
  });
});

