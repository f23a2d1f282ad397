import { expect } from 'chai';
import { redactText, redactUri } from '../../src/log/redact.js';

const R = '-redacted-:-redacted-@';

describe('redactUri', () => {
  const table: Array<[string, string, string]> = [
    ['user and password', 'https://u:p@h.example/x.tgz', `https://${R}h.example/x.tgz`],
    ['an upper-case scheme', 'HTTPS://u:p@h.example/x.tgz', `HTTPS://${R}h.example/x.tgz`],
    ['a mixed-case scheme', 'Http://u:p@h.example/x', `Http://${R}h.example/x`],
    ['a password holding a raw @', 'https://u:p@ss@h.example/x', `https://${R}h.example/x`],
    ['a password holding two raw @', 'http://deploy:a@b@c-Tail@h.example:8080/x', `http://${R}h.example:8080/x`],
    ['a user name alone (a token)', 'https://tok3n@h.example/x', `https://${R}h.example/x`],
    ['a percent-encoded password', 'https://u:p%40ss@h.example/x', `https://${R}h.example/x`],
    ['no credentials', 'https://h.example/x.tgz', 'https://h.example/x.tgz'],
    ['an @ in the path is not userinfo', 'https://h.example/a@b/x', 'https://h.example/a@b/x'],
    ['an @ in the query is not userinfo', 'https://h.example/x?mail=a@b', 'https://h.example/x?mail=a@b'],
    ['an @ in the fragment is not userinfo', 'https://h.example/x#a@b', 'https://h.example/x#a@b'],
    ['not a URI', 'user@host', 'user@host'],
  ];
  for (const [label, input, expected] of table) {
    it(label, () => expect(redactUri(input)).to.equal(expected));
  }
});

describe('redactText', () => {
  it('redacts every URI in a text, whatever the case of its scheme', () => {
    const text = 'tried HTTPS://a:s3cret@h1.example/x then http://b:p@ss@h2.example/y; gave up';
    expect(redactText(text)).to.equal(`tried HTTPS://${R}h1.example/x then http://${R}h2.example/y; gave up`);
  });

  it('leaves the text after a URI alone, @ included', () => {
    expect(redactText('http://u:p@h/x failed for ops@example.org')).to.equal(`http://${R}h/x failed for ops@example.org`);
  });

  it('keeps no part of a password with a raw @ in a longer message', () => {
    const out = redactText('could not download https://deploy:p@ss-Tail9x@h.example/a.tgz: HTTP 403');
    expect(out).to.not.include('Tail9x');
    expect(out).to.not.include('ss-');
  });
});
