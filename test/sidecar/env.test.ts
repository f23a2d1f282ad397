import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { SidecarEnvValue } from '../../src/manifest/types.js';
import { renderEnvScript } from '../../src/sidecar/render.js';
import { VCAP_AWK, octalEscape } from '../../src/sidecar/vcap-awk.js';
import { Droplet, Run, SHELLS, releaseAfterEach, spec } from './harness.js';

// The binary writes each variable's exact bytes (or UNSET) to a mark file.
const PRINTER = `#!/bin/sh
for v in TOKEN PORT CFG OTHER; do
  if eval "[ -n \\"\\\${$v+set}\\" ]"; then eval "printf '%s' \\"\\$$v\\"" > "$MARKS/$v"; else printf UNSET > "$MARKS/$v"; fi
done
`;

const HOSTILE = [
  `it's`,
  '$(touch "$MARKS/pwned")',
  '`touch "$MARKS/pwned"`',
  '"; touch "$MARKS/pwned"; "',
  "'; touch \"$MARKS/pwned\"; '",
  'line1\nline2\n',
  '\\0101 \\n %s %b \\',
  'unicode é ☃ 😀 \u2028',
  '${HOME} $PATH * ?',
  '-n',
  '',
];

function svc(by: 'name' | 'label' | 'tag', is: string, credential: string): SidecarEnvValue {
  return { kind: 'service', service: { [by]: is }, credential };
}

const SERVICES = {
  'user-provided': [
    { name: 'my-config', label: 'user-provided', tags: ['config', 'shared'], credentials: { token: 'by-name', port: 8082, nested: { a: [1, true, null] } } },
    { name: 'second', label: 'user-provided', tags: ['shared'], credentials: { token: 'second' } },
  ],
  'p.config': [{ name: 'cfg', label: 'p.config', tags: [], credentials: { token: 'by-label' } }],
  'no-label': [{ name: 'nl', tags: [], credentials: { token: 'top-key' } }],
};

describe('sidecar env', () => {
  let droplet: Droplet | undefined;
  releaseAfterEach();

  async function runWith(env: Record<string, SidecarEnvValue>, extra: Record<string, string | undefined>, shell: 'sh' | 'bash' = 'sh'): Promise<Run> {
    droplet = await Droplet.create(spec({ env }), PRINTER);
    const run = new Run(droplet.launchArgv(shell), droplet.env(extra));
    expect((await run.done).code).to.equal(0);
    return run;
  }

  describe('#renderEnvScript', () => {
    it('renders literals single-quoted and credentials as awk lookups, nothing else', () => {
      const script = renderEnvScript(spec({ env: { A: { kind: 'literal', value: "x'y" }, B: svc('tag', "t'", 'c') } }), '"$DEPS_DIR"/0/sidecars/agent/vcap.awk');
      expect(script).to.include(`A='x'\\''y'`);
      expect(script).to.include(`SB_BY=tag SB_IS='t'\\''' SB_CRED=c`);
    });
  });

  for (const shell of SHELLS) {
    describe(`credentials from VCAP_SERVICES under ${shell}`, () => {
      it('finds the instance by name, label (or its top-level key) and tag', async () => {
        await runWith(
          { TOKEN: svc('name', 'my-config', 'token'), PORT: svc('label', 'p.config', 'token'), CFG: svc('tag', 'config', 'token'), OTHER: svc('label', 'no-label', 'token') },
          { VCAP_SERVICES: JSON.stringify(SERVICES) },
          shell,
        );
        expect(await droplet!.readMark('TOKEN')).to.equal('by-name');
        expect(await droplet!.readMark('PORT')).to.equal('by-label');
        expect(await droplet!.readMark('CFG')).to.equal('by-name');
        expect(await droplet!.readMark('OTHER')).to.equal('top-key');
      });

      it('gives numbers as written and objects as their JSON text', async () => {
        await runWith({ PORT: svc('name', 'my-config', 'port'), CFG: svc('name', 'my-config', 'nested') }, { VCAP_SERVICES: JSON.stringify(SERVICES, null, 2) }, shell);
        expect(await droplet!.readMark('PORT')).to.equal('8082');
        expect(JSON.parse((await droplet!.readMark('CFG'))!)).to.deep.equal({ a: [1, true, null] });
      });

      for (const value of HOSTILE) {
        it(`passes a hostile credential through as data: ${JSON.stringify(value)}`, async () => {
          const services = { x: [{ name: 's', credentials: { token: value } }] };
          await runWith({ TOKEN: svc('name', 's', 'token') }, { VCAP_SERVICES: JSON.stringify(services) }, shell);
          expect(await droplet!.readMark('TOKEN')).to.equal(value);
          expect(await droplet!.readMark('pwned')).to.equal(undefined);
        });
      }
    });
  }

  describe('credentials written with JSON escapes', () => {
    it('decodes \\uXXXX, surrogate pairs and short escapes to the exact bytes', async () => {
      const raw = String.raw`{"x":[{"name":"s","credentials":{"token":"\u0024(touch \"$MARKS/pwned\") \u0060id\u0060 \u00e9\ud83d\ude00\n\t\/\\ \u0027"}}]}`;
      await runWith({ TOKEN: svc('name', 's', 'token') }, { VCAP_SERVICES: raw });
      expect(await droplet!.readMark('TOKEN')).to.equal('$(touch "$MARKS/pwned") `id` é😀\n\t/\\ \'');
      expect(await droplet!.readMark('pwned')).to.equal(undefined);
    });

    it('prints the value octal-escaped, letters and digits as is', () => {
      const out = execFileSync('awk', [VCAP_AWK], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { LC_ALL: 'C', SB_JSON_VAR: 'J', SB_MODE: 'key', SB_KEY: 'k', J: '{"k":"a-b é"}' },
        encoding: 'utf8',
      });
      expect(out).to.equal(octalEscape('a-b é'));
      expect(out).to.equal('a\\0055b\\0040\\0303\\0251');
    });
  });

  context('when the app developer already set the variable', () => {
    it('keeps their value, even an empty one', async () => {
      await runWith({ TOKEN: svc('name', 'my-config', 'token'), PORT: svc('name', 'my-config', 'port') }, { VCAP_SERVICES: JSON.stringify(SERVICES), TOKEN: 'mine', PORT: '' });
      expect(await droplet!.readMark('TOKEN')).to.equal('mine');
      expect(await droplet!.readMark('PORT')).to.equal('');
    });
  });

  context('when the app sources the profile.d hook', () => {
    it('gets the credential too', async () => {
      droplet = await Droplet.create(spec({ env: { TOKEN: svc('tag', 'config', 'token') } }), PRINTER);
      const out = execFileSync('bash', ['-c', '. "$DEPS_DIR/0/profile.d/agent.sh"; printf %s "$TOKEN"', 'launcher', path.join(droplet.root, 'app'), 'node app.js'], {
        env: droplet.env({ VCAP_SERVICES: JSON.stringify(SERVICES) }),
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      });
      expect(out).to.equal('by-name');
    });
  });

  context('failure cases', () => {
    const cases: [string, Record<string, string | undefined>, SidecarEnvValue, string][] = [
      ['VCAP_SERVICES is unset', {}, svc('name', 'my-config', 'token'), 'sidecar agent: TOKEN: VCAP_SERVICES is not set; left unset'],
      ['no instance matches', { VCAP_SERVICES: JSON.stringify(SERVICES) }, svc('name', 'nope', 'token'), 'sidecar agent: TOKEN: no service instance in VCAP_SERVICES with name "nope"; left unset'],
      ['the credential is missing', { VCAP_SERVICES: JSON.stringify(SERVICES) }, svc('name', 'cfg', 'password'), 'sidecar agent: TOKEN: service instance "cfg" has no credential "password"; left unset'],
      ['VCAP_SERVICES is not JSON', { VCAP_SERVICES: '{"x": [}' }, svc('name', 'cfg', 'token'), 'sidecar agent: TOKEN: VCAP_SERVICES is not valid JSON (unexpected character at byte 8); left unset'],
      ['the value holds a NUL', { VCAP_SERVICES: String.raw`{"x":[{"name":"n","credentials":{"token":"a\u0000b"}}]}` }, svc('name', 'n', 'token'), 'cannot hold'],
    ];
    for (const [when, env, value, message] of cases) {
      it(`leaves the variable unset and says why when ${when}`, async () => {
        const run = await runWith({ TOKEN: value }, env);
        expect(await droplet!.readMark('TOKEN')).to.equal('UNSET');
        expect(run.stderr).to.include(message);
      });
    }

    it('never prints a credential in its messages', async () => {
      const run = await runWith({ TOKEN: svc('tag', 'shared', 'token') }, { VCAP_SERVICES: JSON.stringify(SERVICES) });
      expect(await droplet!.readMark('TOKEN')).to.equal('by-name');
      expect(run.stderr).to.equal('sidecar agent: TOKEN: 2 service instances with tag "shared"; using the first, "my-config"\n');
      expect(run.stderr).to.not.include('by-name');
    });
  });
});
