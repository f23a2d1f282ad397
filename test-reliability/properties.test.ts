// Property tests (issue 6) with fast-check, seeds logged (replay with RELIABILITY_SEED):
// version resolution agrees with an independent reference model and throws only our typed
// errors; the manifest parser answers any document with a valid model or a ManifestError.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import YAML from 'yaml';
import { DependencyNotFoundError, ManifestError, OverrideError } from '../src/errors.js';
import { applyOverrides } from '../src/manifest/overrides.js';
import type { SidecarSpec } from '../src/manifest/types.js';
import { renderEnvScript } from '../src/sidecar/render.js';
import { redactText, redactUri } from '../src/log/redact.js';
import { parseManifest } from '../src/manifest/parse.js';
import { findMatchingVersion, findMatchingVersions } from '../src/manifest/versions.js';
import { seedFor } from './helpers/staging.js';

/** Runs per property (RELIABILITY_RUNS raises it for a longer hunt). */
const RUNS = Number(process.env.RELIABILITY_RUNS ?? 400);

// ---- reference model of version resolution (strict X.Y.Z versions, libbuildpack constraints) ----
type V = [number, number, number];
const parseV = (s: string): V => s.split('.').map(Number) as V;
const cmp = (a: V, b: V): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
type Pred = (v: V) => boolean;

/** A constraint as text plus the model's own predicate for it. */
interface Constraint {
  text: string;
  test: Pred;
}

const num = fc.integer({ min: 0, max: 4 });
const version = fc.tuple(num, num, num);
const show = (v: V): string => v.join('.');

const atom: fc.Arbitrary<Constraint> = fc.oneof(
  version.map((v) => ({ text: show(v), test: (x: V) => cmp(x, v) === 0 })),
  num.map((m) => ({ text: `${m}.x`, test: (x: V) => x[0] === m })),
  num.map((m) => ({ text: `${m}.*`, test: (x: V) => x[0] === m })),
  fc.tuple(num, num).map(([m, n]) => ({ text: `${m}.${n}.x`, test: (x: V) => x[0] === m && x[1] === n })),
  fc.tuple(version, version, fc.boolean()).map(([a, b, comma]) => ({ text: `>=${show(a)}${comma ? ', ' : ' '}<${show(b)}`, test: (x: V) => cmp(x, a) >= 0 && cmp(x, b) < 0 })),
  version.map((a) => ({ text: `>${show(a)}`, test: (x: V) => cmp(x, a) > 0 })),
  version.map((a) => ({ text: `<=${show(a)}`, test: (x: V) => cmp(x, a) <= 0 })),
  version.map((a) => ({ text: `~${show(a)}`, test: (x: V) => cmp(x, a) >= 0 && cmp(x, [a[0], a[1] + 1, 0]) < 0 })),
  version.map((a) => {
    const upper: V = a[0] > 0 ? [a[0] + 1, 0, 0] : a[1] > 0 ? [0, a[1] + 1, 0] : [0, 0, a[2] + 1];
    return { text: `^${show(a)}`, test: (x: V) => cmp(x, a) >= 0 && cmp(x, upper) < 0 };
  }),
);
const constraint: fc.Arbitrary<Constraint> = fc.oneof(
  { weight: 4, arbitrary: atom },
  { weight: 1, arbitrary: fc.tuple(atom, atom).map(([a, b]) => ({ text: `${a.text} || ${b.text}`, test: (x: V) => a.test(x) || b.test(x) })) },
);

/** The model: the highest version satisfying the constraint, or the libbuildpack error text. */
function model(c: Constraint, versions: string[]): { ok: string } | { error: string } {
  const hits = versions.filter((v) => c.test(parseV(v))).sort((a, b) => cmp(parseV(a), parseV(b)));
  return hits.length > 0 ? { ok: hits[hits.length - 1] } : { error: `no match found for ${c.text} in [${versions.join(' ')}]` };
}

function outcome(run: () => string): { ok: string } | { error: string } {
  try {
    return { ok: run() };
  } catch (e) {
    if (!(e instanceof DependencyNotFoundError)) throw e;
    return { error: e.message };
  }
}

/** Version-ish strings: real versions, near-misses and junk (v-prefixes, 4 parts, pre-releases, spaces). */
const versionish = fc.oneof(
  version.map(show),
  fc.tuple(version, fc.constantFrom('-rc.1', '-alpha', '+build.5', '.7', '', '-0')).map(([v, s]) => show(v) + s),
  fc.tuple(num, num).map(([a, b]) => `v${a}.${b}`),
  num.map(String),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', ' ', 'x', '*', '1..2', '1.2.3.4.5', '01.2.3', '99999999999999999999.1.1', 'abc-1.2.3-def-4.5.6', '\n', '1.2.3 ', '>=', '||', 'latest'),
);
const constraintish = fc.oneof(
  constraint.map((c) => c.text),
  versionish,
  fc.string({ maxLength: 20 }),
  fc.constantFrom('>=1.0.0 <', '~', '^', '1.x || ', '>= 1, < 2', '*', 'x', '1.2.3 - 2.0.0', '=1.2.3', '!1.2', '>=a <b', '1.2.3 ||| 2', ' 1.x '),
);

describe('reliability: properties', () => {
  describe('version resolution', () => {
    it('agrees with the reference model over random versions and constraints', () => {
      const seed = seedFor('versions vs model');
      fc.assert(
        fc.property(fc.array(version.map(show), { maxLength: 10 }), constraint, (versions, c) => {
          const expected = model(c, versions);
          expect(outcome(() => findMatchingVersion(c.text, versions)), `${c.text} in ${JSON.stringify(versions)}`).to.deep.equal(expected);
          if ('ok' in expected) {
            const all = findMatchingVersions(c.text, versions);
            expect(all.every((v) => c.test(parseV(v)))).to.equal(true);
            expect(all.length).to.equal(versions.filter((v) => c.test(parseV(v))).length);
          }
        }),
        { seed, numRuns: RUNS * 2 },
      );
    });

    it('never throws anything but DependencyNotFoundError, and answers only with listed versions in order', () => {
      const seed = seedFor('versions typed errors');
      fc.assert(
        fc.property(fc.array(versionish, { maxLength: 8 }), constraintish, (versions, c) => {
          const got = outcome(() => findMatchingVersion(c, versions));
          if ('ok' in got) {
            expect(versions).to.include(got.ok);
            const all = findMatchingVersions(c, versions);
            expect(all[all.length - 1]).to.equal(got.ok);
            for (const v of all) expect(versions).to.include(v);
          } else {
            expect(got.error).to.equal(`no match found for ${c} in [${versions.join(' ')}]`);
          }
        }),
        { seed, numRuns: RUNS * 2 },
      );
    });
  });

  describe('manifest parser', () => {
    const KEYS = [
      'language', 'stack', 'default_versions', 'dependencies', 'dependency_deprecation_dates', 'include_files', 'exclude_files', 'pre_package',
      'sidecars', 'name', 'version', 'uri', 'sha256', 'cf_stacks', 'file', 'source', 'source_sha256', 'dependency', 'command', 'args',
      'process_types', 'memory', 'env', 'readiness', 'liveness', 'http', 'tcp', 'exec', 'port', 'path', 'host', 'on_timeout',
      'period_seconds', 'timeout_seconds', 'stop_grace_seconds', 'strip_components', 'version_line', 'date', 'link', 'service', 'credential', '<<',
    ];
    const scalar = fc.oneof(
      fc.string({ maxLength: 16 }),
      fc.integer().map(String),
      fc.integer({ min: -5, max: 70000 }),
      fc.boolean(),
      fc.constant(null),
      fc.double(),
      fc.constantFrom('web', 'agent', '1.x', '1.0.0', 'http://127.0.0.1/a.tgz', 'file:///x.tgz', 'ftp://x/y', 'a'.repeat(64), 'bin/x', '../x', '/abs', '', '~', 'null', 'true', '64M', 'cflinuxfs4', '2027-01-01'),
    );
    const { node } = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof({ maxDepth: 4, depthSize: 'small' }, scalar, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), tie('node'), { maxKeys: 5 })),
    }));
    const doc = fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }), node, { maxKeys: 8 });

    const VALID = `language: agent
default_versions:
- name: agent
  version: 1.x
dependencies:
- name: agent
  version: "1.0.0"
  uri: http://127.0.0.1/agent.tgz
  sha256: ${'b'.repeat(64)}
  cf_stacks: [cflinuxfs4]
sidecars:
- name: agent
  dependency: agent
  command: bin/agent --x
  memory: 64
  env: {A: "1"}
  readiness: {http: {port: 8080, path: /ready}}
`;

    /** A ManifestError, or a model that holds the parser's own promises. */
    function check(text: string): void {
      let m;
      try {
        m = parseManifest(text, 'manifest.yml');
      } catch (e) {
        if (!(e instanceof ManifestError)) throw new Error(`not a ManifestError for ${JSON.stringify(text.slice(0, 400))}: ${(e as Error)?.stack}`);
        expect(e.message.startsWith('manifest.yml: ')).to.equal(true);
        return;
      }
      expect(m.language).to.be.a('string');
      expect(m.stack).to.be.a('string');
      for (const d of m.dependencies) {
        expect(d.name).to.match(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/);
        expect(d.version).to.be.a('string');
        expect(d.sha256).to.match(/^([0-9a-f]{64})?$/);
        expect(['http:', 'https:', 'file:']).to.include(new URL(d.uri).protocol);
        expect(d.cf_stacks.every((s) => typeof s === 'string')).to.equal(true);
      }
      for (const s of m.sidecars) {
        expect(s.name).to.match(/^[a-z][a-z0-9-]*$/);
        expect(m.dependencies.some((d) => d.name === s.dependency)).to.equal(true);
        expect(s.process_types.length).to.be.greaterThan(0);
        if (s.memory !== undefined) expect(Number.isInteger(s.memory) && s.memory > 0).to.equal(true);
      }
      for (const dv of m.default_versions) expect(dv.name).to.be.a('string');
    }

    it('answers random documents with a valid model or a ManifestError, never a crash', () => {
      const seed = seedFor('manifest random documents');
      fc.assert(fc.property(doc, (d) => check(YAML.stringify(d))), { seed, numRuns: RUNS });
    });

    it('answers random edits of a valid manifest (cuts, inserts, swaps) the same way', () => {
      const seed = seedFor('manifest random edits');
      const edit = fc.tuple(fc.nat(VALID.length), fc.nat(40), fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('&a ', '*a', '<<: *a\n', '- ', ': ', '\n  ', '"', "'", '{', '[', '#', '!!binary ', '|', '>', '\t', '\u0000', '%YAML 1.2\n---\n', '\n---\n')));
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
          let text = VALID;
          for (const [at, cut, insert] of edits) {
            const i = at % (text.length + 1);
            text = text.slice(0, i) + insert + text.slice(i + cut);
          }
          check(text);
        }),
        { seed, numRuns: RUNS },
      );
    });

    it('answers random text (YAML punctuation, unicode, control characters) the same way', () => {
      const seed = seedFor('manifest random text');
      const piece = fc.oneof(fc.string({ maxLength: 10, unit: 'binary' }), fc.constantFrom('\n', ': ', '- ', '&x ', '*x', '<<: *x', '{a: [b, *x]}', '? ', '!tag ', '%TAG ! x\n', '---\n', '...\n', '"\\u0000"', '  '));
      fc.assert(fc.property(fc.array(piece, { maxLength: 30 }), (parts) => check(parts.join(''))), { seed, numRuns: RUNS });
    });
  });
  describe('app developer overrides and env defaults', () => {
    const SPEC: SidecarSpec = { name: 'agent', dependency: 'agent', command: 'bin/agent', args: [], process_types: ['web'], env: {} };
    const hostile = fc.oneof(
      fc.string({ maxLength: 24, unit: 'binary' }),
      fc.constantFrom('1.x; touch /tmp/PWNED', '$(id)', '`id`', '64\n', ' 64 ', '0', '-1', '1e3', '0x40', '64.0', 'TRUE', 'false ', '>=1.0.0 <2.0.0', '1.x || 2.x', "it's"),
      fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(';', '|', '&', '$', '`', '\n', '\r', '"', "'", '\\', '>', '*')).map(([a, b]) => a + b + a),
    );

    it('NAME_VERSION / NAME_MEMORY / NAME_DISABLED: an OverrideError naming the variable, or clean values', () => {
      const seed = seedFor('overrides');
      fc.assert(
        fc.property(fc.record({ AGENT_VERSION: hostile, AGENT_MEMORY: hostile, AGENT_DISABLED: hostile }, { requiredKeys: [] }), (env) => {
          let r;
          try {
            r = applyOverrides(SPEC, env);
          } catch (e) {
            if (!(e instanceof OverrideError)) throw e;
            expect(Object.keys(env)).to.include(e.variable);
            expect(e.message.startsWith(`${e.variable}: `)).to.equal(true);
            return;
          }
          if (r.versionConstraint !== undefined) expect(r.versionConstraint).to.match(/^[0-9A-Za-z.*^~<>=|+ -]+$/);
          if (r.spec.memory !== undefined) expect(Number.isInteger(r.spec.memory) && r.spec.memory > 0).to.equal(true);
          for (const a of r.applied) expect(a).not.to.match(/[\r\n\0]/);
        }),
        { seed, numRuns: RUNS },
      );
    });

    it('env defaults with any characters reach a sourcing bash and sh verbatim, never executed', () => {
      const seed = seedFor('env defaults inert');
      fc.assert(
        fc.property(fc.string({ maxLength: 40, unit: 'binary' }).filter((v) => !v.includes('\0')), (value) => {
          const script = renderEnvScript({ ...SPEC, env: { AGENT_LABEL: { kind: 'literal', value } } }, '/nonexistent/vcap.awk');
          for (const shell of ['bash', 'sh']) {
            const r = spawnSync(shell, ['-c', `${script}\nprintf '%s' "$AGENT_LABEL"`], { env: { PATH: process.env.PATH, LC_ALL: 'C.UTF-8' } });
            expect(r.status, r.stderr.toString()).to.equal(0);
            expect(r.stdout.toString('utf8'), shell).to.equal(value);
          }
        }),
        { seed, numRuns: Math.ceil(RUNS / 10) },
      );
    });
  });
  describe('credential redaction', () => {
    // Characters a URL parser accepts raw in a password (`@` and `:` included: it splits at the last `@`).
    const raw = fc.string({ minLength: 1, maxLength: 16, unit: fc.constantFrom(...'abcXYZ0189@:!$&()*+,;=._~-'.split('')) });
    it('leaves no part of a password in a redacted URI or text', () => {
      const seed = seedFor('redaction');
      fc.assert(
        fc.property(raw, fc.string({ maxLength: 12 }), fc.constantFrom('/x.tgz', '?a=b@c', '#f', '', ':8080/p'), (tail, user, rest) => {
          const password = `Pw7${tail}`;
          const href = `https://${encodeURIComponent(user)}:${password}@127.0.0.1${rest}`;
          let url: URL;
          try {
            url = new URL(href);
          } catch {
            return; // not a URI a manifest could hold
          }
          expect(decodeURIComponent(url.password)).to.equal(password);
          const shown = [redactUri(href), redactText(`could not download ${href}: HTTP 500`)];
          for (const s of shown) {
            expect(s).to.include('-redacted-:-redacted-@127.0.0.1');
            expect(s, s).not.to.include(`Pw7${tail.slice(0, 1)}`);
            if (tail.length > 3) expect(s, s).not.to.include(tail);
          }
        }),
        { seed, numRuns: RUNS },
      );
    });
  });
});
