// The app manifest reader (`cf push -f` format) against the compat corpus, and its merge under
// explicit AppSpec fields.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAppManifest, parseMemory, processSpecs, readAppManifest, resolveAppSpec } from '../../src/platform/app-manifest.js';
import { ManifestError } from '../../src/errors.js';
import { tempDir, writeTree } from './helpers.js';
import { compatPath } from '../helpers/shared.js';

const corpus = (f: string) => compatPath('manifests', f);

describe('app manifest', () => {
  describe('#parseAppManifest', () => {
    context('when reading the CAPI sidecar sample manifest', () => {
      it('reads name, memory, env as strings, stack and the user sidecar', async () => {
        const m = await readAppManifest(corpus('capi-sidecar-app-manifest.yml'));
        expect(m).to.deep.include({
          name: 'sidecar-dependent-app',
          memoryMb: 256,
          env: { CONFIG_SERVER_PORT: '8082' },
          stack: 'cflinuxfs3',
          buildpacks: [],
          sidecars: [{ name: 'config-server', command: './config-server', process_types: ['web'] }],
        });
      });
    });
    context('when reading the part4 sample manifest', () => {
      it('keeps the buildpacks in order', () => {
        const file = corpus('sidecar-part4-app-manifest.yml');
        const m = parseAppManifest(readFileSync(file, 'utf8'), file);
        expect(m.buildpacks).to.deep.equal(['https://github.com/starkandwayne/part4-sidecar-buildpack', 'ruby_buildpack']);
        expect(m.sidecars[0].command).to.equal('config-server');
      });
    });
    context('when a sidecar has a memory limit and the app a command and path', () => {
      it('converts the memory and resolves the path against the manifest', () => {
        const m = parseAppManifest(
          'applications:\n- name: a\n  path: ./src\n  command: node x.js\n  buildpack: one\n  sidecars:\n  - name: s\n    command: c\n    process_types: [web]\n    memory: 1G\n',
          '/x/manifest.yml',
        );
        expect(m.sidecars[0].memory).to.equal(1024);
        expect(m.path).to.equal('/x/src');
        expect(m.command).to.equal('node x.js');
        expect(m.buildpacks).to.deep.equal(['one']);
      });
    });
  });


  describe('every key of the cf CLI format', () => {
    const FULL = [
      'applications:',
      '- name: ((name))',
      '  memory: 256M',
      '  disk_quota: 512M',
      '  instances: ((web_instances))',
      '  stack: cflinuxfs4',
      '  command: ./web',
      '  health-check-type: http',
      '  health-check-http-endpoint: /health',
      '  health-check-invocation-timeout: 2',
      '  timeout: 30',
      '  no-route: false',
      '  random-route: true',
      '  env: {GREETING: "hello ((who))"}',
      '  services: [creds, {name: orders-db, binding_name: db}]',
      '  sidecars: [{name: s, command: ./s, process_types: [web, worker], memory: 32M}]',
      '  processes:',
      '  - type: worker',
      '    command: ./worker',
      '    memory: 128M',
      '    instances: 1',
      '    health-check-type: process',
      '',
    ].join('\n');
    it('reads and interpolates them', () => {
      const m = parseAppManifest(FULL, 'm.yml', { name: 'probe', web_instances: 2, who: 'world' });
      expect(m).to.deep.include({ name: 'probe', memoryMb: 256, diskMb: 512, instances: 2, stack: 'cflinuxfs4', command: './web', noRoute: false, randomRoute: true });
      expect(m.env).to.deep.equal({ GREETING: 'hello world' });
      expect(m.healthCheck).to.deep.equal({ type: 'http', endpoint: '/health', invocationTimeoutMs: 2000, startTimeoutMs: 30000 });
      expect(m.services).to.deep.equal([{ name: 'creds' }, { name: 'orders-db', binding_name: 'db' }]);
      expect(m.processes).to.deep.equal([{ type: 'worker', command: './worker', memoryMb: 128, instances: 1, healthCheck: { type: 'process' } }]);
    });
    it('gives web the top-level keys and other types their own', () => {
      const m = parseAppManifest(FULL, 'm.yml', { name: 'p', web_instances: 2, who: 'w' });
      const specs = processSpecs(m, {});
      expect(specs.map((p) => p.type)).to.deep.equal(['web', 'worker']);
      expect(specs[0]).to.deep.include({ command: './web', memoryMb: 256, instances: 2, diskMb: 512 });
      expect(specs[0].healthCheck).to.deep.include({ type: 'http', endpoint: '/health' });
      expect(processSpecs(m, { instances: 3, command: 'x' })[0]).to.deep.include({ instances: 3, command: 'x' });
    });
    it('maps the deprecated health-check-type none to process, as CC does', () => {
      expect(parseAppManifest('applications:\n- name: a\n  health-check-type: none\n', 'm.yml').healthCheck).to.deep.equal({ type: 'process' });
    });
  });

  describe('#parseMemory', () => {
    it('accepts M, MB, G and GB in any case', () => {
      expect(['256M', '512mb', '1G', '2gb'].map((v) => parseMemory(v, 'f', 'k'))).to.deep.equal([256, 512, 1024, 2048]);
    });
  });

  describe('#resolveAppSpec', () => {
    it('lets explicit fields win and resolves relative buildpack paths', async () => {
      const { dir, cleanup } = await tempDir();
      try {
        await writeTree(dir, {
          'manifest.yml': 'applications:\n- name: from-manifest\n  memory: 512M\n  env: {A: "1", B: "2"}\n  buildpacks: [./bp, ruby_buildpack]\n',
        });
        const spec = await resolveAppSpec({ dir, buildpacks: [], manifest: path.join(dir, 'manifest.yml'), env: { B: 'flag' }, memoryMb: 128 });
        expect(spec.name).to.equal('from-manifest');
        expect(spec.memoryMb).to.equal(128);
        expect(spec.env).to.deep.equal({ A: '1', B: 'flag' });
        expect(spec.buildpacks).to.deep.equal([path.join(dir, 'bp'), 'ruby_buildpack']);
      } finally {
        await cleanup();
      }
    });
  });

  context('failure cases', () => {

    it('names a ((var)) that has no value', () => {
      expect(() => parseAppManifest('applications:\n- name: ((app))\n  memory: ((mem))\n', 'm.yml', { app: 'a' })).to.throw(ManifestError, 'm.yml: Expected to find variables: mem');
    });
    it('refuses keys it cannot honour, naming them', () => {
      expect(() => parseAppManifest('applications:\n- name: a\n  routes: [{route: a.example.com}]\n', 'm.yml')).to.throw(ManifestError, 'm.yml: applications[0].routes: not supported');
      expect(() => parseAppManifest('applications:\n- name: a\n  colour: red\n', 'm.yml')).to.throw(ManifestError, "applications[0].colour: not supported: unknown key 'colour'");
      expect(() => parseAppManifest('applications:\n- name: a\n  processes: [{type: worker, routes: []}]\n', 'm.yml')).to.throw(ManifestError, 'applications[0].processes[0].routes');
      expect(() => parseAppManifest('applications:\n- name: a\n  services: [{name: s, parameters: {a: 1}}]\n', 'm.yml')).to.throw(ManifestError, 'applications[0].services[0].parameters');
      expect(() => parseAppManifest('applications:\n- name: a\n- name: b\n', 'm.yml')).to.throw(ManifestError, 'lists 2 applications');
    });
    it('refuses VCAP_, VMC and PORT env names as Cloud Controller does', () => {
      expect(() => parseAppManifest('applications:\n- name: a\n  env: {VCAP_SERVICES: x}\n', 'm.yml')).to.throw(ManifestError, 'applications[0].env.VCAP_SERVICES: Env cannot start with VCAP_');
      expect(() => parseAppManifest('applications:\n- name: a\n  env: {PORT: "1"}\n', 'm.yml')).to.throw(ManifestError, 'Env cannot set PORT');
    });
    it('refuses VCAP_ names given with --env', async () => {
      await resolveAppSpec({ dir: '/', buildpacks: [], env: { VCAP_APPLICATION: '{}' } }).then(
        () => expect.fail('resolved'),
        (e: unknown) => expect((e as Error).message).to.equal('--env: VCAP_APPLICATION: Env cannot start with VCAP_'),
      );
    });
    it('refuses bad health-check settings with CC\'s messages', () => {
      expect(() => parseAppManifest('applications:\n- name: a\n  health-check-type: tcp\n', 'm.yml')).to.throw(ManifestError, 'must be "port", "process", or "http"');
      expect(() => parseAppManifest('applications:\n- name: a\n  health-check-http-endpoint: /h\n', 'm.yml')).to.throw(ManifestError, 'Health check type must be "http" to set a health check HTTP endpoint');
      expect(() => parseAppManifest('applications:\n- name: a\n  timeout: 181\n', 'm.yml')).to.throw(ManifestError, 'applications[0].timeout: Maximum exceeded: max 180s');
      expect(() => parseAppManifest('applications:\n- name: a\n  instances: -1\n', 'm.yml')).to.throw(ManifestError, 'applications[0].instances: must be greater than or equal to 0');
      expect(() => parseAppManifest('applications:\n- name: a\n  processes: [{command: x}]\n', 'm.yml')).to.throw(ManifestError, 'applications[0].processes[0].type: required');
    });
    it('refuses memory without a unit, as the cf CLI does', () => {
      expect(() => parseMemory('256', 'm.yml', 'applications[0].memory')).to.throw(ManifestError, 'm.yml: applications[0].memory: invalid memory "256"');
    });
    it('refuses a manifest without applications', () => {
      expect(() => parseAppManifest('name: x\n', 'm.yml')).to.throw(ManifestError, 'applications');
    });
    it('refuses sidecars that are not a list', () => {
      expect(() => parseAppManifest('applications:\n- name: a\n  sidecars: {}\n', 'm.yml')).to.throw(ManifestError, 'sidecars');
    });
    it('names a manifest file that cannot be read', async () => {
      await readAppManifest('/nonexistent/manifest.yml').then(
        () => expect.fail('read'),
        (e: unknown) => expect((e as Error).message).to.include('/nonexistent/manifest.yml'),
      );
    });
  });
});
