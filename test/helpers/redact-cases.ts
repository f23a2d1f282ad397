// One table of URI redaction cases, held against both redactors: src/log/redact.ts (the bundle's)
// and bin/supply's sed (the shim's, before node exists) — test/bin/redact-parity.test.ts.
// Every host is 127.0.0.1:1 (nothing listens there), so the shim can be run on each for real.

export interface RedactCase {
  why: string;
  uri: string;
  shown: string;
  /** A part of the uri that must never be shown. */
  secret?: string;
}

const H = '127.0.0.1:1';
const R = '-redacted-:-redacted-@';

export const REDACT_CASES: RedactCase[] = [
  { why: 'user and password', uri: `http://user:s3cret@${H}/node.tgz`, shown: `http://${R}${H}/node.tgz`, secret: 's3cret' },
  { why: 'an upper-case scheme', uri: `HTTPS://user:s3cret@${H}/node.tgz`, shown: `HTTPS://${R}${H}/node.tgz`, secret: 's3cret' },
  { why: 'a mixed-case scheme', uri: `Http://user:s3cret@${H}/node.tgz`, shown: `Http://${R}${H}/node.tgz`, secret: 's3cret' },
  { why: 'a password with a raw @', uri: `http://deploy:p@ss-Tail9x@${H}/node.tgz`, shown: `http://${R}${H}/node.tgz`, secret: 'Tail9x' },
  { why: 'a password with several raw @', uri: `http://d:a@b@c-Tail7q@${H}/node.tgz`, shown: `http://${R}${H}/node.tgz`, secret: 'Tail7q' },
  { why: 'a percent-encoded @ in the password', uri: `http://user:p%40ss-Tail5z@${H}/node.tgz`, shown: `http://${R}${H}/node.tgz`, secret: 'Tail5z' },
  { why: 'a token without a password', uri: `http://tok3nTail@${H}/node.tgz`, shown: `http://${R}${H}/node.tgz`, secret: 'tok3nTail' },
  { why: 'a scheme with + . -', uri: `git+ssh.x-y://user:s3cret@${H}/node.tgz`, shown: `git+ssh.x-y://${R}${H}/node.tgz`, secret: 's3cret' },
  { why: 'an @ in the path only', uri: `http://${H}/a@b/node.tgz`, shown: `http://${H}/a@b/node.tgz` },
  { why: 'an @ in the query only', uri: `http://${H}?mail=a@b`, shown: `http://${H}?mail=a@b` },
  { why: 'an @ in the fragment only', uri: `http://${H}#a@b`, shown: `http://${H}#a@b` },
  { why: 'credentials and an @ in the path', uri: `http://user:s3cret@${H}/a@b/node.tgz`, shown: `http://${R}${H}/a@b/node.tgz`, secret: 's3cret' },
  { why: 'no credentials', uri: `http://${H}/node.tgz`, shown: `http://${H}/node.tgz` },
  { why: 'not a scheme (starts with a digit)', uri: `1http://user:s3cret@${H}/node.tgz`, shown: `1http://user:s3cret@${H}/node.tgz` },
];
