// Test helper: temp directories under os.tmpdir(), removed after each test that asked for one.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Returns a function making fresh temp dirs; call it inside a `describe` so every dir made during
 * a test is removed in `afterEach`.
 */
export function useTmpDirs(prefix = 'sidecar-test-'): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), prefix));
    made.push(d);
    return d;
  };
}
