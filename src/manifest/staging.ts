// The manifest as staging loads it: the compiled dist/manifest.json when it was made from this
// very manifest.yml (compiled.ts), else manifest.yml parsed. The parser (and the yaml library
// under it) is loaded only in the second case, so a staging from a packaged or built buildpack
// never loads it.

import { join } from 'node:path';
import { COMPILED_MANIFEST_PATH, manifestTextSha256, readCompiled, type StagingAnswers } from './compiled.js';
import { readManifestText } from './read.js';
import { readTextOrNone } from '../sync-fs.js';
import type { Manifest } from './types.js';

/** The manifest, whether it came from the compiled file (told in the debug log), and its answers (none when parsed). */
export async function loadStagingManifest(buildpackDir: string): Promise<{ manifest: Manifest; compiled: boolean; answers: StagingAnswers; textSha256: () => string }> {
  const { file, text } = await readManifestText(buildpackDir);
  const textSha256 = (): string => manifestTextSha256(text);
  const compiledText = readTextOrNone(join(buildpackDir, COMPILED_MANIFEST_PATH));
  const compiled = compiledText === undefined ? undefined : readCompiled(compiledText, text, file);
  if (compiled) return { ...compiled, compiled: true, textSha256 };
  const { parseManifest } = await import('./parse.js');
  return { manifest: parseManifest(text, file), compiled: false, answers: {}, textSha256 };
}

