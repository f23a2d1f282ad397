// Issue 12 §1 and §3 at launch, through the platform's launcher script with real processes: a
// proxy sidecar keeps $PORT while the app moves to app_port (both get APP_PORT), and the proxy
// waits for the app behind it; a volume exists for both, under the same path, before either runs.

import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ManifestError } from '../../src/errors.js';
import type { ReadinessSpec } from '../../src/manifest/types.js';
import { checkOtherProxies } from '../../src/sidecar/proxy.js';
import { expectRejection } from '../helpers/assert.js';
import { writeSidecar } from '../helpers/sidecar-spec.js';
import { Droplet, Run, Target, launchProcess, releaseAfterEach, spec, until } from './harness.js';

const PRINT_PORTS = 'echo "PORT=$PORT VCAP_APP_PORT=$VCAP_APP_PORT APP_PORT=$APP_PORT"';

function instanceEnv(processType = 'web'): Record<string, string> {
  return { PORT: '8080', VCAP_APP_PORT: '8080', CF_INSTANCE_GUID: 'guid-1', VCAP_APPLICATION: JSON.stringify({ process_type: processType }) };
}

describe('proxy sidecars and volumes at launch', () => {
  releaseAfterEach();

  describe('proxy: {app_port}', () => {
    it('moves app processes to app_port; the proxy and other sidecars keep $PORT; all get APP_PORT', async () => {
      const d = await Droplet.create(spec({ proxy: { app_port: 8081 } }), `#!/bin/sh\n${PRINT_PORTS}\n`);
      const app = await launchProcess(d, PRINT_PORTS, instanceEnv());
      expect((await app.done).code).to.equal(0);
      expect(app.stdout).to.include('PORT=8081 VCAP_APP_PORT=8081 APP_PORT=8081\n');
      const proxy = await launchProcess(d, d.command, instanceEnv());
      expect((await proxy.done).code).to.equal(0);
      expect(proxy.stdout).to.include('PORT=8080 VCAP_APP_PORT=8080 APP_PORT=8081\n');
      const other = await launchProcess(d, '"$DEPS_DIR"/0/sidecars/other/run x', instanceEnv());
      await other.done;
      expect(other.stdout).to.not.include('PORT=8081');
    });

    it('leaves process types it does not run beside on $PORT', async () => {
      const d = await Droplet.create(spec({ proxy: { app_port: 8081 } }), '');
      const worker = await launchProcess(d, PRINT_PORTS, instanceEnv('worker'));
      await worker.done;
      expect(worker.stdout).to.include('PORT=8080 VCAP_APP_PORT=8080 APP_PORT=8081\n');
    });

    {
      it('starts the proxy once the app behind it answers (readiness), without holding the app back', async () => {
        const app = await Target.reserve();
        const readiness: ReadinessSpec = { tcp: { port: { env: 'APP_PORT' } }, initial_delay_seconds: 0, period_seconds: 1, timeout_seconds: 20, on_timeout: 'fail' };
        const d = await Droplet.create(spec({ proxy: { app_port: app.port }, readiness }), '#!/bin/sh\necho proxy-started > "$MARKS/proxy"\n');
        // the app process does not wait for its own proxy
        const web = await launchProcess(d, 'echo app-started', instanceEnv());
        expect((await web.done).code).to.equal(0);
        expect(web.stdout).to.include('app-started');
        expect(web.stdout).to.not.include('waiting');
        const proxy = await launchProcess(d, d.command, instanceEnv());
        await until(() => proxy.stdout.includes('waiting for the app behind it to be ready'), 'the proxy to wait');
        expect(await d.readMark('proxy')).to.equal(undefined);
        await app.listen();
        expect((await proxy.done).code).to.equal(0);
        expect(await d.readMark('proxy')).to.equal('proxy-started\n');
        expect(proxy.stdout).to.include(`sidecar agent: waiting for the app behind it to be ready (tcp 127.0.0.1:${app.port}), up to 20s`);
        expect(proxy.stdout).to.match(/sidecar agent: the app behind it is ready after \d+s/);
      });
    }

    it('fails the proxy (so the instance restarts) when the app never answers', async () => {
      const app = await Target.reserve();
      const readiness: ReadinessSpec = { tcp: { port: app.port }, initial_delay_seconds: 0, period_seconds: 1, timeout_seconds: 1, on_timeout: 'fail' };
      const d = await Droplet.create(spec({ proxy: { app_port: app.port }, readiness }), '#!/bin/sh\necho proxy-started > "$MARKS/proxy"\n');
      const proxy = await launchProcess(d, d.command, instanceEnv());
      expect((await proxy.done).code).to.equal(1);
      expect(proxy.stderr).to.include('the proxy will not start (on_timeout: fail;');
      expect(await d.readMark('proxy')).to.equal(undefined);
    });
  });

  describe('volumes', () => {
    it('gives app and sidecar the same existing directory under /home/vcap as NAME_VOLUME', async () => {
      const d = await Droplet.create(
        spec({ volumes: [{ name: 'var-log', path: 'logs/app' }] }),
        '#!/bin/sh\n[ -d "$VAR_LOG_VOLUME" ] && echo "sidecar sees $VAR_LOG_VOLUME"; cat "$VAR_LOG_VOLUME/app.log"\n',
      );
      const expected = path.join(d.root, 'logs/app');
      const app = await launchProcess(d, '[ -d "$VAR_LOG_VOLUME" ] && echo "app sees $VAR_LOG_VOLUME" && echo "a log line" > "$VAR_LOG_VOLUME/app.log"', instanceEnv());
      expect((await app.done).code).to.equal(0);
      expect(app.stdout).to.include(`app sees ${expected}\n`);
      const sidecar = await launchProcess(d, d.command, instanceEnv());
      expect((await sidecar.done).code).to.equal(0);
      expect(sidecar.stdout).to.include(`sidecar sees ${expected}\na log line\n`);
    });

    it('is made by the sidecar\'s wrapper too, when no profile.d script ran (a final buildpack that does not copy them)', async () => {
      const d = await Droplet.create(spec({ volumes: [{ name: 'spool', path: 'spool' }] }), '#!/bin/sh\n[ -d "$SPOOL_VOLUME" ] && echo made\n');
      const run = new Run(d.launchArgv('sh'), d.env());
      expect((await run.done).code).to.equal(0);
      expect(run.stdout).to.equal('made\n');
      expect((await fs.stat(path.join(d.root, 'spool'))).isDirectory()).to.equal(true);
    });

    it('says so on stderr when the directory cannot be made', async () => {
      const d = await Droplet.create(spec({ volumes: [{ name: 'v', path: 'blocked/v' }] }), '#!/bin/sh\n');
      await fs.writeFile(path.join(d.root, 'blocked'), 'a file where the volume\'s parent should be');
      const run = await launchProcess(d, 'true', instanceEnv());
      await run.done;
      expect(run.stderr).to.include(`sidecar agent: cannot create volume v at ${path.join(d.root, 'blocked/v')}`);
    });
  });

  describe('#checkOtherProxies (one proxy per process type across buildpacks)', () => {
    it('refuses a proxy for a type an earlier buildpack\'s proxy took, naming both; accepts other types', async () => {
      const d = await Droplet.create(spec({ name: 'envoy', proxy: { app_port: 8081 }, process_types: ['web', 'api'] }), '');
      await writeSidecar(d.deps, spec({ name: 'plain' }), '', '2');
      const mine = (over: Parameters<typeof spec>[0]) => [{ spec: spec({ name: 'edge-proxy', proxy: { app_port: 9000 }, ...over }), key: 'sidecars[0]' }];
      const e = await expectRejection(checkOtherProxies(d.deps, '1', mine({ process_types: ['worker', 'api'] }), 'manifest.yml'), ManifestError);
      expect(e.message).to.equal(
        "manifest.yml: sidecars[0].proxy: edge-proxy and envoy (of the buildpack at index 0) are both proxies for api: only one process can listen on the instance's port",
      );
      await checkOtherProxies(d.deps, '1', mine({ process_types: ['worker'] }), 'manifest.yml');
      // its own earlier files (same index, padded or not) are not another buildpack's
      await checkOtherProxies(d.deps, '00', mine({}), 'manifest.yml');
      await checkOtherProxies(d.deps, '1', [{ spec: spec({ name: 'no-proxy' }), key: 'sidecars[0]' }], 'manifest.yml');
    });
  });
});
