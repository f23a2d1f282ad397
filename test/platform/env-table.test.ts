// The full variable set of web, a sidecar, a task and staging, held line by line against a table
// taken from CONTRACT §2 (and §1 for staging; sources: CC diego/environment.rb,
// task_environment.rb, staging_environment_builder.rb, vars_builder.rb; executor run_step.go;
// buildpackapplifecycle env/env.go). A difference is one failing line naming the variable.

import { expect } from 'chai';
import { launchEnv, launcherPaths, stagingEnv, taskEnv, type AppIdentity } from '../../src/platform/local/env.js';
import { databaseUrl, userProvidedService, vcapServices } from '../../src/platform/services.js';

const APP: AppIdentity = { name: 'probe', guid: 'app-guid', memoryMb: 256, uri: 'probe.localhost' };
const services = vcapServices([{ instance: userProvidedService('db', { uri: 'postgresql://u:p@db:5432/x' }), ref: { name: 'db' } }], APP.guid);
const VS = JSON.stringify(services);
const DB = databaseUrl(services);
const NET = { ip: '10.255.0.1', internalIp: '10.255.0.2', hostPort: 61001, containerPort: 8080 };
const L = launcherPaths();

type Row = [string, string | RegExp | ((v: string) => void)];

/** Every variable of the env is in the table and every table row holds: one failure per row. */
function holds(env: Record<string, string>, table: Row[]): void {
  const failures: string[] = [];
  for (const [name, want] of table) {
    const got = env[name];
    try {
      if (got === undefined) throw new Error('missing');
      if (typeof want === 'string') expect(got).to.equal(want);
      else if (want instanceof RegExp) expect(got).to.match(want);
      else want(got);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  const known = new Set(table.map(([n]) => n));
  for (const name of Object.keys(env)) if (!known.has(name)) failures.push(`${name}: not in CONTRACT's table (value ${JSON.stringify(env[name])})`);
  expect(failures, failures.join('\n')).to.deep.equal([]);
}

const keysSorted = (v: string) => {
  const keys = Object.keys(JSON.parse(v));
  expect(keys).to.deep.equal([...keys].sort());
};

function vcapApp(expectKeys: string[], check: (o: Record<string, unknown>) => void, sorted = true) {
  return (v: string) => {
    const o = JSON.parse(v) as Record<string, unknown>;
    expect(Object.keys(o).sort()).to.deep.equal([...expectKeys].sort());
    if (sorted) keysSorted(v);
    check(o);
  };
}

const LRP_VCAP_KEYS = [
  'application_id', 'application_name', 'application_uris', 'application_version', 'cf_api', 'host', 'instance_id', 'instance_index',
  'limits', 'name', 'organization_id', 'organization_name', 'port', 'process_id', 'process_type', 'space_id', 'space_name', 'uris', 'version',
];

function lrpTable(memory: number, processType: string): Row[] {
  return [
    ['PORT', '8080'],
    ['VCAP_APP_PORT', '8080'],
    ['VCAP_APP_HOST', '0.0.0.0'],
    ['LANG', 'en_US.UTF-8'],
    ['GREETING', 'hi'],
    ['MEMORY_LIMIT', `${memory}m`],
    ['VCAP_SERVICES', VS],
    ['DATABASE_URL', 'postgres://u:p@db:5432/x'],
    ['INSTANCE_GUID', 'inst-guid'],
    ['INSTANCE_INDEX', '1'],
    ['CF_INSTANCE_GUID', 'inst-guid'],
    ['CF_INSTANCE_INDEX', '1'],
    ['CF_INSTANCE_IP', '10.255.0.1'],
    ['CF_INSTANCE_INTERNAL_IP', '10.255.0.2'],
    ['CF_INSTANCE_PORT', '61001'],
    ['CF_INSTANCE_ADDR', '10.255.0.1:61001'],
    ['CF_INSTANCE_PORTS', '[{"external":61001,"internal":8080}]'],
    ['PATH', '/usr/local/bin:/usr/bin:/bin'],
    ['USER', 'vcap'],
    ['HOME', '/home/vcap/app'],
    ['TMPDIR', '/home/vcap/tmp'],
    ['DEPS_DIR', '/home/vcap/deps'],
    [
      'VCAP_APPLICATION',
      vcapApp(LRP_VCAP_KEYS, (o) => {
        expect(o).to.deep.include({ host: '0.0.0.0', instance_id: 'inst-guid', instance_index: 1, port: 8080, process_type: processType, version: 'proc-version', application_version: 'proc-version' });
        expect(o.limits).to.deep.equal({ disk: 1024, fds: 16384, mem: memory });
        expect(Object.keys(o.limits as object)).to.deep.equal(['disk', 'fds', 'mem']);
      }),
    ],
  ];
}

describe('the environment table (CONTRACT §2)', () => {
  const lrp = (memoryMb: number, derivedDb = false) =>
    launchEnv({
      app: APP,
      appEnv: { GREETING: 'hi' },
      launcher: L,
      processType: 'web',
      processGuid: 'app-guid',
      processVersion: 'proc-version',
      memoryMb,
      net: NET,
      instanceGuid: 'inst-guid',
      instanceIndex: 1,
      vcapServices: VS,
      ...(derivedDb ? {} : { databaseUrl: DB }),
    });

  it('holds for the web process (memory = web minus its sidecars)', () => {
    holds(lrp(224), lrpTable(224, 'web'));
  });

  it('holds for a sidecar: PORT and VCAP_APP_* like web, its own memory; DATABASE_URL derived from VCAP_SERVICES as the launcher does', () => {
    holds(lrp(32, true), lrpTable(32, 'web'));
  });

  it('holds for a task: no PORT, no instance vars, empty CF_INSTANCE_PORT/ADDR, no process_type', () => {
    const env = taskEnv({ app: APP, appEnv: { GREETING: 'hi' }, launcher: L, memoryMb: 128, vcapServices: VS, databaseUrl: DB, ip: '10.255.0.1', internalIp: '10.255.0.2', version: 'task-version' });
    holds(env, [
      ['GREETING', 'hi'],
      ['MEMORY_LIMIT', '128m'],
      ['VCAP_SERVICES', VS],
      ['LANG', 'en_US.UTF-8'],
      ['DATABASE_URL', 'postgres://u:p@db:5432/x'],
      ['CF_INSTANCE_IP', '10.255.0.1'],
      ['CF_INSTANCE_INTERNAL_IP', '10.255.0.2'],
      ['CF_INSTANCE_PORT', ''],
      ['CF_INSTANCE_ADDR', ''],
      ['CF_INSTANCE_PORTS', '[]'],
      ['PATH', '/usr/local/bin:/usr/bin:/bin'],
      ['USER', 'vcap'],
      ['HOME', '/home/vcap/app'],
      ['TMPDIR', '/home/vcap/tmp'],
      ['DEPS_DIR', '/home/vcap/deps'],
      [
        'VCAP_APPLICATION',
        vcapApp(
          ['application_id', 'application_name', 'application_uris', 'application_version', 'cf_api', 'host', 'instance_id', 'limits', 'name', 'organization_id', 'organization_name', 'space_id', 'space_name', 'uris', 'users', 'version'],
          (o) => {
            expect(o).to.deep.include({ instance_id: '', version: 'task-version', users: null });
            expect(o.limits).to.deep.equal({ disk: 1024, fds: 16384, mem: 128 });
          },
        ),
      ],
    ]);
  });

  it('holds for staging: MEMORY_LIMIT is at least the minimum staging memory, empty CF_INSTANCE_PORT/ADDR', () => {
    const env = stagingEnv({ app: APP, appEnv: { GREETING: 'hi' }, hostEnv: {}, stack: 'cflinuxfs4', home: '/home/vcap', tmpDir: '/tmp', vcapServices: VS, path: '/usr/local/bin:/usr/bin:/bin', ip: '10.255.0.3', version: 'stg-version' });
    holds(env, [
      ['GREETING', 'hi'],
      ['CF_STACK', 'cflinuxfs4'],
      ['MEMORY_LIMIT', '1024m'],
      ['VCAP_SERVICES', VS],
      ['LANG', 'en_US.UTF-8'],
      ['PATH', '/usr/local/bin:/usr/bin:/bin'],
      ['HOME', '/home/vcap'],
      ['TMPDIR', '/tmp'],
      ['USER', 'vcap'],
      ['CF_INSTANCE_IP', '10.255.0.3'],
      ['CF_INSTANCE_INTERNAL_IP', '10.255.0.3'],
      ['CF_INSTANCE_PORT', ''],
      ['CF_INSTANCE_ADDR', ''],
      ['CF_INSTANCE_PORTS', '[]'],
      [
        'VCAP_APPLICATION',
        vcapApp(
          ['application_id', 'application_name', 'application_uris', 'application_version', 'cf_api', 'limits', 'name', 'organization_id', 'organization_name', 'space_id', 'space_name', 'uris', 'users', 'version'],
          (o) => expect(o.limits).to.deep.equal({ fds: 16384, mem: 1024, disk: 4096 }),
          false,
        ),
      ],
    ]);
  });

  context('staging memory', () => {
    it('is the app memory when above the minimum', () => {
      const env = stagingEnv({ app: { ...APP, memoryMb: 2048 }, appEnv: {}, hostEnv: {}, stack: 's', home: '/h', tmpDir: '/t', vcapServices: '{}' });
      expect(env.MEMORY_LIMIT).to.equal('2048m');
    });
  });

  context('failure cases', () => {
    it('reports a variable the table lacks as its own failing line', () => {
      expect(() => holds({ ...lrp(224), EXTRA: 'x' }, lrpTable(224, 'web'))).to.throw('EXTRA: not in CONTRACT');
    });
    it('reports a wrong value on the variable\'s line', () => {
      expect(() => holds({ ...lrp(224), PORT: '9' }, lrpTable(224, 'web'))).to.throw(/PORT: expected '9' to equal '8080'/);
    });
    it('gives no DATABASE_URL when no bound service has a database uri', () => {
      expect(databaseUrl(vcapServices([{ instance: userProvidedService('x', { uri: 'https://h' }), ref: { name: 'x' } }], 'g'))).to.equal(undefined);
    });
  });
});
