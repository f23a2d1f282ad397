// `sidecar-buildpack summary`: markdown tables of dependencies, default versions and sidecars.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ManifestError } from '../../errors.js';
import { parseManifestDocument } from '../../packager/manifest-doc.js';
import { renderSummary, summaryData } from '../../packager/summary.js';
import type { CliIO } from '../io.js';

export function register(program: Command, io: CliIO): void {
  program
    .command('summary')
    .description("print markdown tables of the buildpack's dependencies, default versions and sidecars")
    .option('--dir <dir>', 'the buildpack directory', '.')
    .option('--json', 'print the same facts as JSON')
    .action(async (flags: { dir: string; json?: boolean }) => {
      const file = path.join(path.resolve(io.cwd, flags.dir), 'manifest.yml');
      let text: string;
      try {
        text = await fs.readFile(file, 'utf8');
      } catch (err) {
        throw new ManifestError(file, undefined, `cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`, { cause: err });
      }
      const data = summaryData(parseManifestDocument(text, file));
      io.stdout.write(flags.json ? `${JSON.stringify(data, null, 2)}\n` : renderSummary(data));
    });
}
