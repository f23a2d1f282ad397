// VCAP_SERVICES in the platform's shape, DATABASE_URL, user-provided and file-defined services.

import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bindServices, databaseUrl, parseServicesFile, readCredentials, serviceCatalog, userProvidedService, vcapServices } from '../../src/platform/services.js';
import { ManifestError, UsageError } from '../../src/errors.js';
import { expectRejection } from '../helpers/assert.js';
import { tempDir } from './helpers.js';

const BROKERED = JSON.stringify({
  'p.mysql': [{ name: 'orders-db', plan: 'db-small', tags: ['mysql'], credentials: { uri: 'mysql://u:p@h:3306/orders' } }],
});

describe('services', () => {
  describe('#vcapServices', () => {
    it('shapes a user-provided binding as CC does: label, name, tags, then the binding keys', () => {
      const out = vcapServices([{ instance: userProvidedService('creds', { token: 't' }, ['agent']), ref: { name: 'creds' } }], 'app');
      const entry = out['user-provided'][0];
      expect(Object.keys(entry)).to.deep.equal(['label', 'name', 'tags', 'instance_guid', 'instance_name', 'binding_guid', 'binding_name', 'credentials', 'syslog_drain_url', 'volume_mounts']);
      expect(entry).to.deep.include({ label: 'user-provided', name: 'creds', tags: ['agent'], instance_name: 'creds', binding_name: null, credentials: { token: 't' }, syslog_drain_url: null, volume_mounts: [] });
    });
    it('shapes a brokered binding with provider and plan, and a binding name as its name', () => {
      const [db] = parseServicesFile(BROKERED, 'f.json');
      const out = vcapServices([{ instance: db, ref: { name: 'orders-db', binding_name: 'db' } }], 'app');
      const entry = out['p.mysql'][0];
      expect(Object.keys(entry).slice(0, 5)).to.deep.equal(['label', 'provider', 'plan', 'name', 'tags']);
      expect(entry).to.deep.include({ label: 'p.mysql', provider: null, plan: 'db-small', name: 'db', instance_name: 'orders-db', binding_name: 'db' });
    });
    it('groups by label in binding order', () => {
      const a = userProvidedService('a', {});
      const b = userProvidedService('b', {});
      const out = vcapServices(bindServices([{ name: 'b' }, { name: 'a' }], [a, b], { file: 'm', key: 'services' }), 'g');
      expect(out['user-provided'].map((e) => e.name)).to.deep.equal(['b', 'a']);
    });
  });

  describe('#databaseUrl', () => {
    it('takes the first database uri and renames mysql to mysql2 and postgresql to postgres', () => {
      const [db] = parseServicesFile(BROKERED, 'f.json');
      expect(databaseUrl(vcapServices([{ instance: userProvidedService('web', { uri: 'https://x' }), ref: { name: 'web' } }, { instance: db, ref: { name: db.name } }], 'g'))).to.equal('mysql2://u:p@h:3306/orders');
      expect(databaseUrl(vcapServices([{ instance: userProvidedService('pg', { uri: 'postgresql://h/d' }), ref: { name: 'pg' } }], 'g'))).to.equal('postgres://h/d');
    });
  });

  describe('#readCredentials', () => {
    it('reads inline JSON and @file', async () => {
      const { dir, cleanup } = await tempDir();
      try {
        await writeFile(path.join(dir, 'c.json'), '{"k":"v"}');
        expect(await readCredentials('{"a":1}', dir, 's')).to.deep.equal({ a: 1 });
        expect(await readCredentials('@c.json', dir, 's')).to.deep.equal({ k: 'v' });
      } finally {
        await cleanup();
      }
    });
  });

  context('failure cases', () => {
    it('refuses a binding to an unknown service, naming it and the known ones', () => {
      expect(() => bindServices([{ name: 'nope' }], [userProvidedService('creds', {})], { file: 'manifest.yml', key: 'applications[0].services' })).to.throw(
        ManifestError,
        "manifest.yml: applications[0].services[0]: Service instance 'nope' not found (known: creds)",
      );
    });
    it('refuses credentials that are not a JSON object', async () => {
      await expectRejection(readCredentials('[1]', '/', 'creds'), UsageError, 'credentials must be a JSON object');
      await expectRejection(readCredentials('{', '/', 'creds'), UsageError, '--credentials for service creds: invalid JSON');
      await expectRejection(readCredentials('@/nonexistent.json', '/', 'creds'), UsageError, '/nonexistent.json');
    });
    it('refuses a services file entry without a name, naming the key', () => {
      expect(() => parseServicesFile('{"p.mysql":[{"plan":"x"}]}', 's.json')).to.throw(ManifestError, 's.json: p.mysql[0].name: required');
      expect(() => parseServicesFile('{"p.mysql":{}}', 's.json')).to.throw(ManifestError, 's.json: p.mysql: must be a list');
    });
    it('refuses a service defined twice', () => {
      expect(() => serviceCatalog([userProvidedService('a', {})], [userProvidedService('a', {})])).to.throw(UsageError, "service 'a' is defined twice");
    });
  });
});
