// One table of redaction cases (test/helpers/redact-cases.ts) held against both redactors: the
// bundle's redactUri (src/log/redact.ts) and bin/supply's sed, run for real on a runtime download
// that fails (127.0.0.1:1 refuses), whose URI the shim prints twice.
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactUri } from '../../src/log/redact.js';
import { renderRuntimeTable } from '../../src/packager/runtime-table.js';
import { makeNoNodePath } from '../helpers/no-node-path.js';
import { REDACT_CASES } from '../helpers/redact-cases.js';
import { runAsync } from '../helpers/spawn.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('URI redaction: src/log/redact.ts and bin/supply agree on every case', () => {
  let tmp: string;
  let stackPath: string;
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'redact-parity-'));
    stackPath = await makeNoNodePath();
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.rm(stackPath, { recursive: true, force: true });
  });

  for (const c of REDACT_CASES) {
    it(`${c.why}: ${c.uri}`, async () => {
      expect(redactUri(c.uri), 'src/log/redact.ts').to.equal(c.shown);

      const bp = await fs.mkdtemp(path.join(tmp, 'bp-'));
      await fs.cp(path.join(repo, 'bin'), path.join(bp, 'bin'), { recursive: true });
      await fs.mkdir(path.join(bp, 'dist'));
      const row = { stack: 'cflinuxfs4', version: '22.1.0', uri: c.uri, sha256: 'c'.repeat(64) };
      await fs.writeFile(path.join(bp, 'dist', 'runtime.tsv'), renderRuntimeTable([row], '', 'test'));
      const d = await fs.mkdtemp(path.join(tmp, 'stage-'));
      const r = await runAsync(path.join(bp, 'bin', 'supply'), [path.join(d, 'build'), path.join(d, 'cache'), path.join(d, 'deps'), '0'], {
        env: { PATH: stackPath, CF_STACK: 'cflinuxfs4', TMPDIR: d },
      });
      expect(r.status, r.stdout + r.stderr).to.equal(1);
      expect(r.stdout, 'bin/supply').to.contain(`       Download [${c.shown}]\n`);
      expect(r.stdout, 'bin/supply').to.contain(`could not download ${c.shown}\n`);
      if (c.secret) expect(r.stdout + r.stderr).not.to.contain(c.secret);
    });
  }
});
