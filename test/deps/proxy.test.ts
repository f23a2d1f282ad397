import { expect } from 'chai';
import { proxyFor } from '../../src/deps/proxy.js';

describe('proxyFor', () => {
  const table: Array<[string, string, Record<string, string>, string | undefined]> = [
    ['no proxy configured', 'http://h.example/x', {}, undefined],
    ['HTTP_PROXY for http', 'http://h.example/x', { HTTP_PROXY: 'http://p:3128' }, 'http://p:3128/'],
    ['http_proxy (lowercase)', 'http://h.example/x', { http_proxy: 'http://p:3128' }, 'http://p:3128/'],
    ['uppercase wins over lowercase', 'http://h.example/x', { HTTP_PROXY: 'http://up:1', http_proxy: 'http://low:2' }, 'http://up:1/'],
    ['HTTPS_PROXY for https', 'https://h.example/x', { HTTPS_PROXY: 'http://p:3128', HTTP_PROXY: 'http://q:1' }, 'http://p:3128/'],
    ['HTTP_PROXY is not used for https', 'https://h.example/x', { HTTP_PROXY: 'http://q:1' }, undefined],
    ['a proxy without a scheme', 'http://h.example/x', { HTTP_PROXY: 'p:3128' }, 'http://p:3128/'],
    ['an empty proxy variable', 'http://h.example/x', { HTTP_PROXY: ' ' }, undefined],
    ['NO_PROXY *', 'http://h.example/x', { HTTP_PROXY: 'http://p:1', NO_PROXY: '*' }, undefined],
    ['NO_PROXY exact host', 'http://h.example/x', { HTTP_PROXY: 'http://p:1', NO_PROXY: 'h.example' }, undefined],
    ['NO_PROXY domain suffix', 'http://a.b.example/x', { HTTP_PROXY: 'http://p:1', NO_PROXY: 'b.example' }, undefined],
    ['NO_PROXY leading dot', 'http://a.b.example/x', { HTTP_PROXY: 'http://p:1', no_proxy: '.b.example' }, undefined],
    ['NO_PROXY is not a substring match', 'http://notb.example/x', { HTTP_PROXY: 'http://p:1', NO_PROXY: 'b.example' }, 'http://p:1/'],
    ['NO_PROXY host:port matching', 'http://h.example:8080/x', { HTTP_PROXY: 'http://p:1', NO_PROXY: 'h.example:8080' }, undefined],
    ['NO_PROXY host:port not matching', 'http://h.example/x', { HTTP_PROXY: 'http://p:1', NO_PROXY: 'h.example:8080' }, 'http://p:1/'],
    ['NO_PROXY IP in a list', 'http://10.0.0.1/x', { HTTP_PROXY: 'http://p:1', NO_PROXY: 'foo, 10.0.0.1 ,bar' }, undefined],
    ['loopback is proxied unless listed', 'http://127.0.0.1/x', { HTTP_PROXY: 'http://p:1' }, 'http://p:1/'],
    ['file URIs never use a proxy', 'file:///x', { HTTP_PROXY: 'http://p:1' }, undefined],
  ];
  for (const [label, uri, env, expected] of table) {
    it(label, () => expect(proxyFor(new URL(uri), env)?.href).to.equal(expected));
  }

  context('failure cases', () => {
    it('throws on a proxy value that is not a URL', () => {
      expect(() => proxyFor(new URL('http://h/x'), { HTTP_PROXY: 'http://[bad' })).to.throw();
    });
  });
});
