// push's --var/--vars-file and --service/--credentials/--services-file into PushOptions.

import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { varsAndServices } from '../../src/cli/commands/push.js';
import { UsageError } from '../../src/errors.js';
import { expectRejection } from '../helpers/assert.js';
import { tempDir } from './helpers.js';

describe('push flags for vars and services', () => {
  it('merges --var over the vars files (a later file over an earlier one) and pairs --service with --credentials', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeFile(path.join(dir, 'a.yml'), 'x: a\ny: a\nz: a\n');
      await writeFile(path.join(dir, 'b.yml'), 'y: b\nz: b\n');
      await writeFile(path.join(dir, 'creds.json'), '{"token":"t"}');
      await writeFile(path.join(dir, 'svc.json'), '{"p.redis":[{"name":"cache","plan":"small"}]}');
      const out = await varsAndServices({ var: ['z=flag'], varsFile: ['a.yml', 'b.yml'], service: ['one', 'two'], credentials: ['{"a":1}', '@creds.json'], servicesFile: 'svc.json' }, dir);
      expect(out.vars).to.deep.equal({ x: 'a', y: 'b', z: 'flag' });
      expect(out.serviceCatalog?.map((s) => [s.name, s.label, s.credentials])).to.deep.equal([
        ['one', 'user-provided', { a: 1 }],
        ['two', 'user-provided', { token: 't' }],
        ['cache', 'p.redis', {}],
      ]);
    } finally {
      await cleanup();
    }
  });
  it('gives nothing when no flag is used', async () => {
    expect(await varsAndServices({ var: [], varsFile: [], service: [], credentials: [] }, '/')).to.deep.equal({});
  });
  context('failure cases', () => {
    it('refuses a --service without its --credentials', async () => {
      await expectRejection(varsAndServices({ var: [], varsFile: [], service: ['one'], credentials: [] }, '/'), UsageError, '1 --service but 0 --credentials');
    });
  });
});
