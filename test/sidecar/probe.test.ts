import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import type { ProbeSpec, SidecarSpec } from '../../src/manifest/types.js';
import { describeProbe, renderProbeScript } from '../../src/sidecar/probe.js';
import { renderSidecar } from '../../src/sidecar/render.js';
import { Droplet, Run, Target, releaseAfterEach, spec } from './harness.js';

const base = { initial_delay_seconds: 0, period_seconds: 1, timeout_seconds: 1, failure_threshold: 1 };

describe('sidecar checks', () => {
  let droplet: Droplet | undefined;
  let target: Target | undefined;
  releaseAfterEach();

  describe('#describeProbe', () => {
    const cases: [ProbeSpec, string][] = [
      [{ ...base, http: { port: 8082, path: '/config/' } }, 'http GET http://127.0.0.1:8082/config/'],
      [{ ...base, http: { port: 80, path: '/', host: '::1' } }, 'http GET http://[::1]:80/'],
      [{ ...base, tcp: { port: 9, host: 'localhost' } }, 'tcp localhost:9'],
      [{ ...base, exec: { command: 'bin/health\n  --deep' } }, 'exec bin/health --deep'],
    ];
    for (const [probe, text] of cases) it(`says ${text}`, () => expect(describeProbe(probe)).to.equal(text));
  });

  describe('#renderSidecar', () => {
    it('renders scripts that sh and bash both parse, hostile strings included', () => {
      const hostile = `'; touch /tmp/x; '$(id)\`id\``;
      const s: SidecarSpec = spec({
        args: [hostile],
        env: { A: { kind: 'literal', value: hostile }, B: { kind: 'service', service: { label: hostile }, credential: hostile } },
        readiness: { ...base, http: { port: 1, path: `/${hostile.replace(/\s/g, '')}` }, on_timeout: 'continue' },
        liveness: { ...base, exec: { command: 'true' } },
        stop_grace_seconds: 3,
        process_types: ['web', 'w-2'],
      });
      for (const f of renderSidecar(s, '07').files.filter((x) => !x.path.endsWith('.awk'))) {
        for (const shell of ['sh', 'bash']) {
          execFileSync(shell, ['-n'], { input: f.contents, stdio: ['pipe', 'pipe', 'pipe'] });
        }
      }
    });

    it('connects to a named host', async () => {
      target = await Target.listening('ok');
      droplet = await Droplet.create(spec({ readiness: { ...base, tcp: { port: target.port, host: '127.0.0.1' }, on_timeout: 'fail' } }), '');
      expect((await new Run(['sh', droplet.file('sidecars/agent/readiness')], droplet.env()).done).code).to.equal(0);
    });
  });

  context('failure cases', () => {
    it('refuses a check with neither http, tcp nor exec', () => {
      expect(() => renderProbeScript({ ...base }, { title: 'liveness check of sidecar x', depDir: '.', attemptSeconds: 1 })).to.throw(/needs one of http, tcp or exec/);
    });

    it('fails a tcp check when nothing listens', async () => {
      target = await Target.reserve();
      droplet = await Droplet.create(spec({ liveness: { ...base, tcp: { port: target.port } } }), '');
      expect((await new Run(['sh', droplet.file('sidecars/agent/liveness')], droplet.env()).done).code).to.not.equal(0);
    });
  });
});
