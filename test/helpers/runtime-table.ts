// dist/runtime.tsv for a test buildpack, written as the build and the packager write it: by the
// TypeScript manifest parser and src/packager/runtime-table.ts (bin/supply reads no YAML).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseManifest } from '../../src/manifest/parse.js';
import { RUNTIME_TABLE_PATH, renderRuntimeTable, runtimeRows, type RuntimeRow } from '../../src/packager/runtime-table.js';

/** Write `<bp>/dist/runtime.tsv` from `<bp>/manifest.yml`; `edit` may change the rows first. */
export async function writeRuntimeTable(bp: string, edit: (rows: RuntimeRow[]) => RuntimeRow[] = (r) => r): Promise<string> {
  const file = path.join(bp, 'manifest.yml');
  const text = await fs.readFile(file, 'utf8');
  const table = renderRuntimeTable(edit(runtimeRows(parseManifest(text, file))), text, 'test');
  await fs.mkdir(path.join(bp, 'dist'), { recursive: true });
  await fs.writeFile(path.join(bp, RUNTIME_TABLE_PATH), table);
  return table;
}
