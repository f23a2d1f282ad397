import { expect } from 'chai';
import { parse } from 'yaml';
import { emitYaml, yamlScalar, type YamlData } from '../../src/launch/emit-yaml.js';
import { readLaunchYml } from '../../src/launch/launch-yml.js';
import { renderLaunchYml } from '../../src/launch/render-launch.js';

/** Both YAML versions the readers that matter speak: the builder's yaml.v2 is YAML 1.1. */
const readBack = (text: string): { v12: unknown; v11: unknown } => ({ v12: parse(text), v11: parse(text, { version: '1.1' }) });

/** A small deterministic generator (no Math.random: a failure reproduces). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const TRICKY = [
  '', ' ', 'yes', 'No', 'ON', 'off', 'y', 'N', 'true', 'False', 'null', 'Null', '~', '1', '0x1F', '1.0', '1e3', '.inf', '-.nan', '2018-04-01',
  '1_000', '0o17', '012', '+1', '-', '- a', ':', 'a: b', 'a #b', '#x', '!tag', '&anchor', '*alias', '|', '>', '%', '@', '`', "'q'", '"q"',
  '{a}', '[a]', 'a,b', '?', '? a', 'a\nb', 'a\r\nb', '\t', 'trailing ', ' leading', 'x\u0000y', '\u0007', '\u001b[31m', '\u007f', '\u0085',
  '\u0080', '\u009f', '\u00a0', '\u2028', '\u2029', '\ufeff', '\ufffe', '\uffff', '\ud800', '\udc00x', '😀', 'é', '日本', '<<', '=', 'a/b.c-d_e',
  'web', 'sidecar-1', '"$DEPS_DIR"/0/sidecars/x/run "$DEPS_DIR"/0/x/bin/x --flag=1 \'quoted\'',
];

describe('emitYaml: the YAML staging writes without the yaml library', () => {
  context('every string reads back as itself, in YAML 1.2 and 1.1', () => {
    for (const s of TRICKY) {
      it(JSON.stringify(s), () => {
        const text = emitYaml({ key: s, list: [s], nested: { [s === '' ? 'empty' : s]: s } });
        const want = { key: s, list: [s], nested: { [s === '' ? 'empty' : s]: s } };
        const { v12, v11 } = readBack(text);
        expect(v12, text).to.deep.equal(want);
        expect(v11, text).to.deep.equal(want);
      });
    }

    it('holds for 3000 random strings over the whole of Unicode, controls and lone surrogates included', () => {
      const next = rng(20261202);
      const pick = (): string => {
        const n = Math.floor(next() * 12);
        let s = '';
        for (let i = 0; i < n; i++) {
          const r = next();
          const code = r < 0.4 ? 0x20 + Math.floor(next() * 0x5f) : r < 0.6 ? Math.floor(next() * 0x20) : r < 0.7 ? 0x7f + Math.floor(next() * 0x30) : r < 0.8 ? 0xd800 + Math.floor(next() * 0x800) : Math.floor(next() * 0x10000);
          s += String.fromCharCode(code);
        }
        return s;
      };
      for (let i = 0; i < 3000; i++) {
        const s = pick();
        const doc = { a: s, b: [s, s] };
        const text = emitYaml(doc);
        // a lone surrogate is not a Unicode scalar: JSON.stringify escapes it, YAML reads back U+FFFD or it
        const { v12, v11 } = readBack(text);
        expect(v12, JSON.stringify(s)).to.deep.equal(parse(JSON.stringify(doc)));
        expect(v11, JSON.stringify(s)).to.deep.equal(parse(JSON.stringify(doc)));
      }
    });
  });

  it('writes the words YAML 1.1 resolves to booleans or null, numbers and dates quoted; plain names plain', () => {
    for (const s of ['yes', 'off', 'Null', '1.0', '2018-04-01', '0x1F', '.inf']) expect(yamlScalar(s)).to.equal(JSON.stringify(s));
    for (const s of ['web', 'sidecar-1', 'a/b.c-d_e', 'config_server']) expect(yamlScalar(s)).to.equal(s);
  });

  it('escapes what YAML may not hold raw: DEL, C1 controls, NEL, the line and paragraph separators, the BOM', () => {
    expect(yamlScalar('a\u007fb\u0085c\u2028d\u2029e\ufeff')).to.equal('"a\\u007fb\\u0085c\\u2028d\\u2029e\\ufeff"');
  });

  it('writes nested maps and lists in block style, empty ones in flow style', () => {
    const doc: Record<string, YamlData> = { name: 'x', config: {}, list: [], processes: [{ type: 'a', limits: { memory: 64 }, for: ['web', 'worker'] }, 'plain'], flag: true, none: null };
    expect(emitYaml(doc)).to.equal(
      [
        'name: x',
        'config: {}',
        'list: []',
        'processes:',
        '  - type: a',
        '    limits:',
        '      memory: 64',
        '    for:',
        '      - web',
        '      - worker',
        '  - plain',
        'flag: true',
        'none: null',
        '',
      ].join('\n'),
    );
    expect(parse(emitYaml(doc))).to.deep.equal(doc);
  });

  it('writes integers and plain decimals; refuses numbers YAML 1.1 would read as strings or that are not finite', () => {
    expect(parse(emitYaml({ a: 64, b: -3, c: 1.5 }), { version: '1.1' })).to.deep.equal({ a: 64, b: -3, c: 1.5 });
    for (const n of [1e21, 1e-7, Infinity, NaN]) expect(() => emitYaml({ n })).to.throw(TypeError, /cannot write the number/);
  });

  it("renders launch.yml that the builder's reader takes back as the same processes", () => {
    const processes = [
      { type: 'web', command: 'bundle exec rackup -p $PORT' },
      { type: 'cfg', command: '"$DEPS_DIR"/0/sidecars/cfg/run "$DEPS_DIR"/0/cfg/bin/cfg \'--a b\'', memory: 64, sidecarFor: ['web', 'worker'] },
      { type: 'yes', command: 'no', sidecarFor: ['on'] },
    ];
    const text = renderLaunchYml(processes);
    expect(readLaunchYml(text)).to.deep.equal(processes);
  });
});
