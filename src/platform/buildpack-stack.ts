// The stack a buildpack is for: the top-level `stack:` of its root manifest.yml (set by
// `package --stack`; CONTRACT §5: the platform reads it from an uploaded zip, < 1 MiB). An app
// pushed with another stack cannot use it: Cloud Controller finds no buildpack of that name for
// the app's stack (BuildpackLifecycleDataValidator's message).

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import yauzl from 'yauzl';
import { ManifestError } from '../errors.js';

const MAX_MANIFEST = 1024 * 1024;

function stackOf(text: string, where: string): string | undefined {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ManifestError(where, undefined, `invalid YAML: ${(e as Error).message}`, { cause: e });
  }
  const stack = (doc as { stack?: unknown } | null)?.stack;
  return typeof stack === 'string' && stack ? stack : undefined;
}

/** The root manifest.yml of a zip, or undefined when it has none. */
function zipManifest(file: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      let found = false;
      zip.on('error', reject);
      zip.on('end', () => {
        if (!found) resolve(undefined);
      });
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== 'manifest.yml') return zip.readEntry();
        found = true;
        if (entry.uncompressedSize >= MAX_MANIFEST) {
          zip.close();
          return reject(new ManifestError(`${file}!manifest.yml`, undefined, `is ${entry.uncompressedSize} bytes: the platform reads a buildpack manifest below 1 MiB`));
        }
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            zip.close();
            resolve(Buffer.concat(chunks).toString('utf8'));
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** The `stack:` a local buildpack (directory or zip) declares; undefined when it declares none. */
export async function buildpackStack(bp: string): Promise<string | undefined> {
  const info = await stat(bp).catch(() => undefined);
  if (!info) return undefined;
  if (info.isFile()) {
    const text = await zipManifest(bp).catch((e: unknown) => {
      if (e instanceof ManifestError) throw e;
      return undefined; // not a readable zip: staging reports it with the builder's message
    });
    return text === undefined ? undefined : stackOf(text, `${bp}!manifest.yml`);
  }
  const file = path.join(bp, 'manifest.yml');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : stackOf(text, file);
}

/** The first buildpack whose stack is not `stack`, as CC refuses it; undefined when all fit. */
export async function stackMismatch(buildpacks: string[], stack: string): Promise<string | undefined> {
  for (const bp of buildpacks) {
    const own = await buildpackStack(bp);
    if (own !== undefined && own !== stack) {
      return `Buildpack "${path.basename(bp)}" for stack "${stack}" must be an existing admin buildpack or a valid git URI (it is packaged for stack "${own}")`;
    }
  }
  return undefined;
}
