// `sidecar-buildpack dependency add|update|verify`: keep manifest.yml's dependency entries and
// their sha256 digests current, preserving the file's comments and layout.

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { PackagerError, UsageError } from '../../errors.js';
import { redactUri } from '../../log/redact.js';
import { loadManifest } from '../../manifest/parse.js';
import { upsertDependency, setDefaultVersion } from '../../packager/dependency-edit.js';
import { sha256File, type FetcherFactory } from '../../packager/download-cache.js';
import { uriBasename } from '../../packager/naming.js';
import { runtimeHead } from '../../packager/runtime-head.js';
import { RUNTIME_DEPENDENCY } from '../../packager/runtime-table.js';
import { archiveKind } from '../../deps/kind.js';
import { verifyDependencies, type VerifyResult } from '../../packager/verify.js';
import { cliFetcherFactory } from '../fetcher.js';
import type { CliIO } from '../io.js';
import { readManifestDocument, writeManifestDocument } from '../manifest-file.js';

interface EditFlags {
  version: string;
  uri: string;
  file?: string;
  stack: string[];
  default?: boolean;
  dir: string;
}

interface Artifact {
  sha256: string;
  head?: { bytes: number; sha256: string };
}

/**
 * sha256 of the artifact: hash the local copy when given, else download the uri and hash that.
 * For the staging runtime (`node`) in a `.tgz`, also its head: what a staging that downloads it
 * keeps in the app cache (runtime-head.ts).
 */
async function artifactOf(name: string, flags: EditFlags, io: CliIO, createFetcher: FetcherFactory): Promise<Artifact> {
  const withHead = async (file: string, sha256: string): Promise<Artifact> => {
    if (name !== RUNTIME_DEPENDENCY || archiveKind(uriBasename(flags.uri)) !== 'tgz') return { sha256 };
    const head = await runtimeHead(file).catch(() => undefined);
    return head ? { sha256, head: { bytes: head.bytes, sha256: head.sha256 } } : { sha256 };
  };
  if (flags.file) {
    const local = path.resolve(io.cwd, flags.file);
    let sha256: string;
    try {
      sha256 = await sha256File(local);
    } catch (err) {
      throw new UsageError(`--file ${local} cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    return withHead(local, sha256);
  }
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sidecar-dep-'));
  try {
    io.stderr.write(`downloading ${redactUri(flags.uri)} to compute its sha256\n`);
    const file = path.join(tmp, uriBasename(flags.uri));
    return withHead(file, (await createFetcher({}).fetchToFile(flags.uri, file)).sha256);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

function editCommand(parent: Command, io: CliIO, mode: 'add' | 'update'): void {
  parent
    .command(`${mode} <name>`)
    .description(mode === 'add' ? 'add a dependency entry (sha256 from --file or by downloading --uri)' : 'replace the version, uri and sha256 of an existing entry')
    .requiredOption('--version <version>', 'the exact version')
    .requiredOption('--uri <uri>', 'where staging downloads it (http, https or file)')
    .option('--file <file>', 'a local copy of the artifact, hashed instead of downloading')
    .option('--stack <stack>', 'a stack it is built for (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--default', 'make this version the default (default_versions)')
    .option('--dir <dir>', 'the buildpack directory', '.')
    .action(async (name: string, flags: EditFlags) => {
      const dir = path.resolve(io.cwd, flags.dir);
      const doc = await readManifestDocument(dir);
      const { sha256, head } = await artifactOf(name, flags, io, cliFetcherFactory(io.env));
      const stacks = upsertDependency(doc, { name, version: flags.version, uri: flags.uri, sha256, cf_stacks: flags.stack, ...(head ? { head } : {}) }, mode);
      if (flags.default) setDefaultVersion(doc, name, flags.version);
      await writeManifestDocument(doc);
      const verb = mode === 'add' ? 'added' : 'updated';
      io.stdout.write(`${verb} ${name} ${flags.version} (${stacks.join(', ')}) sha256 ${sha256}${flags.default ? ' as the default' : ''} in ${doc.file}\n`);
      // what an uncached staging keeps of the runtime in the app cache instead of the whole archive
      if (head) io.stdout.write(`  its bin/node is in the archive's first ${head.bytes} bytes (sha256 ${head.sha256}): a staging that downloads it keeps only those\n`);
    });
}

/** The verify results as a markdown table. */
export function renderVerifyTable(results: VerifyResult[]): string {
  const rows = results.map((r) => {
    const outcome = r.status === 'ok' ? 'ok' : r.status === 'mismatch' ? `MISMATCH: expected ${r.expected}, actual ${r.actual}` : `FAILED: ${r.error}`;
    return `| ${r.name} | ${r.version} | ${r.cf_stacks.join(', ')} | ${r.uri} | ${outcome} |\n`;
  });
  return `| name | version | cf_stacks | uri | result |\n|-|-|-|-|-|\n${rows.join('')}`;
}

export function register(program: Command, io: CliIO): void {
  const dependency = program.command('dependency').description("maintain manifest.yml's dependencies");
  editCommand(dependency, io, 'add');
  editCommand(dependency, io, 'update');
  dependency
    .command('verify')
    .description('download every dependency and check its sha256; fails on any mismatch')
    .option('--dir <dir>', 'the buildpack directory', '.')
    .option('--json', 'print the results as JSON')
    .action(async (flags: { dir: string; json?: boolean }) => {
      const manifest = await loadManifest(path.resolve(io.cwd, flags.dir));
      for (const w of manifest.warnings ?? []) io.stderr.write(`warning: ${w}\n`);
      const results = await verifyDependencies(manifest.dependencies, { createFetcher: cliFetcherFactory(io.env) });
      io.stdout.write(flags.json ? `${JSON.stringify(results, null, 2)}\n` : renderVerifyTable(results));
      const bad = results.filter((r) => r.status !== 'ok').length;
      if (bad > 0) throw new PackagerError(`${bad} of ${results.length} dependencies failed verification`, 'VERIFY_FAILED');
    });
}
